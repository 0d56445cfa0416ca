//! From an operation count to an expected rate on a GPU of known integer
//! throughput, and the whole report (docs/KERNEL-COST.md).

use super::counts::OpCounts;
use super::minimum::{kernel_ops_under, minimum_header_ops, Isa};
use super::spirv::header_kernel_spirv;
use crate::Error;

/// A GPU's integer throughput, for the rate model.
#[derive(Clone, Copy, Debug)]
pub struct GpuModel {
    /// The GPU's name and variant.
    pub name: &'static str,
    /// Streaming multiprocessors.
    pub units: u32,
    /// Lanes per unit per clock of the integer pipe, which runs every
    /// logic operation, shift and three-input addition (LOP3, SHF, IADD3).
    pub int_lanes: u32,
    /// Lanes per unit per clock of the multiply-add pipe, which takes
    /// additions in multiply-add form (IMAD with a factor of one) but no
    /// logic or shifts.
    pub fma_lanes: u32,
    /// The boost clock in GHz.
    pub clock_ghz: f64,
}

impl GpuModel {
    /// Clocks of one unit per nonce for `ops`: logic and shifts on the
    /// integer pipe, additions spread over both pipes.
    pub fn clocks_per_nonce(&self, ops: &OpCounts) -> f64 {
        let int_only = (ops.logic + ops.shift) as f64;
        let all = int_only + ops.add as f64;
        (int_only / self.int_lanes as f64).max(all / (self.int_lanes + self.fma_lanes) as f64)
    }

    /// Expected hashes per second for `ops` per nonce with every issue
    /// slot busy: an upper bound, since a real kernel also spends slots
    /// on moves, address arithmetic and its loop.
    pub fn expected_rate(&self, ops: &OpCounts) -> f64 {
        self.units as f64 * self.clock_ghz * 1e9 / self.clocks_per_nonce(ops)
    }
}

/// NVIDIA's published figures for the GPUs this report models: SM counts
/// and boost clocks from the data sheets; per SM per clock, 64 INT32
/// lanes, and 128 FP32 lanes on Hopper (64 that do not also run INT32 on
/// Ada) for multiply-add-form additions.
pub const GPU_MODELS: [GpuModel; 3] = [
    GpuModel {
        name: "NVIDIA H100 PCIe",
        units: 114,
        int_lanes: 64,
        fma_lanes: 128,
        clock_ghz: 1.755,
    },
    GpuModel {
        name: "NVIDIA H100 SXM5",
        units: 132,
        int_lanes: 64,
        fma_lanes: 128,
        clock_ghz: 1.98,
    },
    GpuModel {
        name: "NVIDIA RTX 4090",
        units: 128,
        int_lanes: 64,
        fma_lanes: 64,
        clock_ghz: 2.52,
    },
];

/// The whole report as Markdown (docs/KERNEL-COST.md is this output).
pub fn report() -> Result<String, Error> {
    use std::fmt::Write as _;
    let cost = header_kernel_spirv()?;
    let portable = minimum_header_ops(Isa::Portable);
    let nvidia = minimum_header_ops(Isa::Nvidia);
    let mut out = String::new();
    let row = |out: &mut String, what: &str, c: &OpCounts| {
        let _ = writeln!(
            out,
            "| {what} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.add,
            c.logic,
            c.shift,
            c.compare,
            c.other,
            c.data,
            c.control,
            c.atomic,
            c.alu()
        );
    };
    let _ = writeln!(out, "# What a nonce costs: the header kernel, counted\n");
    let _ = writeln!(
        out,
        "Written by `cargo run --release --example kernel_cost`; a test keeps this \
         file's beginning, up to the ISA report, equal to its output. Operations per nonce of `search_header` as naga \
         writes it for Vulkan ({} SPIR-V words), every function call expanded, beside \
         the fewest that SHA-256d needs with the same precomputation \
         (`hashrig::gpu::cost::minimum_header_ops`, counted from FIPS 180-4, not from \
         the kernel).\n",
        cost.words
    );
    let _ = writeln!(
        out,
        "| per nonce | add | logic | shift | compare | other | data | control | atomic | add+logic+shift |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    row(&mut out, "kernel SPIR-V, every nonce", &cost.per_nonce);
    row(
        &mut out,
        "kernel SPIR-V, candidate branch only",
        &cost.candidate,
    );
    row(&mut out, "minimum, rotate = 2 shifts + or", &portable);
    row(&mut out, "minimum, NVIDIA (SHF, LOP3, IADD3)", &nvidia);
    row(
        &mut out,
        "minimum, AMD RDNA (alignbit, BFI, xor3, add3)",
        &minimum_header_ops(Isa::RDNA),
    );
    row(
        &mut out,
        "minimum, AMD gfx9: Vega, CDNA (no xor3)",
        &minimum_header_ops(Isa::GFX9),
    );
    let _ = writeln!(
        out,
        "\nFunctions called from the nonce loop (ops of one call, callees included):\n"
    );
    let _ = writeln!(
        out,
        "| function | calls per nonce | add | logic | shift | other | data |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (name, n, c) in &cost.functions {
        let _ = writeln!(
            out,
            "| {name} | {n} | {} | {} | {} | {} | {} |",
            c.add, c.logic, c.shift, c.other, c.data
        );
    }
    let rotates = cost.rotates();
    let folded = kernel_ops_under(&cost, Isa::Portable).alu();
    let _ = writeln!(
        out,
        "\nEach of the {rotates} rotates per nonce carries a `32u - n` subtraction in \
         SPIR-V that a driver folds once it inlines `rotr` (every call passes a \
         constant): {folded} add+logic+shift remain, {:.3}× the portable minimum. \
         Loads, composite extracts and the other data operations read the uniform \
         copy and function arguments; drivers keep those in registers.\n",
        folded as f64 / portable.alu() as f64
    );
    let amounts = super::spirv::header_kernel_spirv_of(crate::gpu::KernelForm::RotationAmounts)?;
    let _ = writeln!(
        out,
        "The rotation-amounts form (`KernelForm::RotationAmounts`: the same rounds, \
         rotating by amounts read from the uniform, and Ch as `(e & f) | (~e & g)`) \
         has {} add+logic+shift per nonce in SPIR-V, {} once its `32u - n`, which \
         depend only on the uniform, leave the loop. Which form a GPU's compiler \
         makes into fewer instructions is in the ISA report below.\n",
        amounts.per_nonce.alu(),
        kernel_ops_under(&amounts, Isa::Portable).alu()
    );
    let _ = writeln!(out, "## The rate model\n");
    let _ = writeln!(
        out,
        "clocks per nonce on one SM = max((logic + shift) / INT32 lanes, \
         (logic + shift + add) / (INT32 + FP32 lanes)); expected rate = SMs × clock / \
         clocks per nonce. Assumptions: on NVIDIA a rotate is one funnel shift \
         (SHF.R.W), Σ's two xors, Ch and Maj are one LOP3 each and IADD3 adds three \
         inputs (the kernel's counts shrink kind by kind as the minimum's do); logic \
         and shifts run only on the INT32 pipe, additions also on the FP32 pipe in \
         IMAD form; every issue slot does useful work, so the rate is an upper \
         bound. SM counts and boost clocks are the data sheets'.\n"
    );
    let _ = writeln!(
        out,
        "| GPU | SMs × INT32 + FP32 lanes @ GHz | clocks/nonce, minimum | clocks/nonce, kernel | bound from minimum | bound from kernel |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let kernel_nv = kernel_ops_under(&cost, Isa::Nvidia);
    let min_nv = minimum_header_ops(Isa::Nvidia);
    for gpu in GPU_MODELS {
        let _ = writeln!(
            out,
            "| {} | {} × {} + {} @ {} | {:.1} | {:.1} | {:.2} GH/s | {:.2} GH/s |",
            gpu.name,
            gpu.units,
            gpu.int_lanes,
            gpu.fma_lanes,
            gpu.clock_ghz,
            gpu.clocks_per_nonce(&min_nv),
            gpu.clocks_per_nonce(&kernel_nv),
            gpu.expected_rate(&min_nv) / 1e9,
            gpu.expected_rate(&kernel_nv) / 1e9
        );
    }
    Ok(out)
}
