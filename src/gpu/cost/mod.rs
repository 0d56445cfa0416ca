//! What a nonce costs: the integer operations per nonce of the header
//! kernel as a Vulkan driver receives it (naga's SPIR-V), by kind, beside
//! the fewest that SHA-256d needs with the same precomputation, and a model
//! that turns an operation count into an expected rate from a GPU's
//! integer throughput. Everything here is computed, nothing measured: the
//! same shader gives the same report on every machine.

mod counts;
mod minimum;
mod model;
mod spirv;

pub use counts::OpCounts;
pub use minimum::{kernel_ops_under, minimum_compression_ops, minimum_header_ops, Isa};
pub use model::{report, GpuModel, GPU_MODELS};
pub use spirv::{header_kernel_spirv, header_kernel_spirv_of, kernel_spirv, SpirvCost};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_counts_what_fips_180_4_needs() {
        let m = minimum_header_ops(Isa::Portable);
        // The NVIDIA form fuses: fewer of every kind, never more.
        let n = minimum_header_ops(Isa::Nvidia);
        assert!(n.add < m.add && n.logic < m.logic && n.shift < m.shift);
        // A whole compression, portable, is 64 rounds of 35 operations
        // (Σ0, Σ1 at 11 each, Ch 3, Maj 3, 7 additions) and 48 schedule
        // words of 21 (σ0, σ1 at 9 each, 3 additions): 3,248. The folding
        // saves well under half of two, and something.
        let two = 2 * (64 * 35 + 48 * 21);
        assert!(m.alu() < two && m.alu() > two * 3 / 4, "{m:?}");
    }

    #[test]
    fn amd_and_nvidia_minimums_differ_by_maj_and_xor3() {
        let nv = minimum_header_ops(Isa::Nvidia).alu();
        let rdna = minimum_header_ops(Isa::RDNA).alu();
        let gfx9 = minimum_header_ops(Isa::GFX9).alu();
        // RDNA is NVIDIA's count plus one instruction for every Maj (an
        // xor and a bit select where LOP3 is one): 60 rounds of the first
        // hash and 56 of the second (round 0's inputs are all IV).
        assert_eq!(rdna, nv + 60 + 56);
        // Without xor3, every Σ and σ of an unknown word takes one more:
        // 60 + 57 Σ1, 60 + 56 Σ0, 48 + 45 σ0 and σ1 pairs' worth.
        assert_eq!(gfx9, rdna + 392);
        assert_eq!((nv, rdna), (2443, 2559));
        // One whole compression: 64 rounds of Σ1, Ch, T1 (two add3), e,
        // Σ0, Maj, a, and 48 schedule words of σ0, σ1 and two adds, and
        // the state's eight additions.
        let c = minimum_compression_ops(Isa::RDNA, [true; 16], true).alu();
        assert_eq!(c, 64 * (4 + 1 + 2 + 1 + 4 + 2 + 1) + 48 * (4 + 4 + 2) + 8);
        // Words the job fixes cost nothing where only they are involved.
        let nonce_first = std::array::from_fn(|i| i < 2);
        assert!(minimum_compression_ops(Isa::RDNA, nonce_first, true).alu() < c);
        let from_midstate = minimum_compression_ops(Isa::RDNA, nonce_first, false).alu();
        assert!(from_midstate < minimum_compression_ops(Isa::RDNA, nonce_first, true).alu());
    }
}
