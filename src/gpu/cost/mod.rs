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
pub use minimum::{kernel_ops_under, minimum_header_ops, Isa};
pub use model::{report, GpuModel, GPU_MODELS};
pub use spirv::{header_kernel_spirv, SpirvCost};

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
}
