//! The core's clock and the throughput and latency of the vector
//! instructions the SHA-256 kernels are made of, each timed on a chain of
//! hand-written instructions (`asm!`) so that no compiler stands between the
//! figure and the core. Virtual machines seldom expose performance
//! counters, so everything is timed against the clock measured here: a
//! chain of dependent scalar adds, one cycle each.

use std::arch::asm;
use std::time::Instant;

/// Runs `$body` (a string of `$per` instructions, repeated 32 times per
/// loop) `iters` times and returns nanoseconds per instruction, the
/// lowest of five runs.
macro_rules! timed {
    ($name:ident, $features:literal, $per:expr, $body:expr, $($clobber:tt)*) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(iters: u64) -> f64 {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                let mut n = iters;
                // SAFETY: the block only reads and writes the registers
                // it names as clobbered and the counter; the caller
                // checked the CPU has the instructions it uses.
                unsafe {
                    asm!(
                        "2:",
                        ".rept 32",
                        $body,
                        ".endr",
                        "dec {n}",
                        "jnz 2b",
                        n = inout(reg) n,
                        $($clobber)*
                        options(nostack),
                    );
                }
                std::hint::black_box(n);
                let ns = t.elapsed().as_nanos() as f64;
                best = best.min(ns / (iters as f64 * 32.0 * $per as f64));
            }
            best
        }
    };
}

timed!(clock_chain, "sse2", 4, "add {x}, 1\nadd {x}, 1\nadd {x}, 1\nadd {x}, 1",
    x = out(reg) _,);

/// Twelve independent chains of one zmm instruction.
macro_rules! zmm_throughput {
    ($name:ident, $features:literal, $op:literal, $tail:literal) => {
        timed!($name, $features, 12, concat!(
            $op, " zmm0, zmm0, ", $tail, "\n", $op, " zmm1, zmm1, ", $tail, "\n",
            $op, " zmm2, zmm2, ", $tail, "\n", $op, " zmm3, zmm3, ", $tail, "\n",
            $op, " zmm4, zmm4, ", $tail, "\n", $op, " zmm5, zmm5, ", $tail, "\n",
            $op, " zmm6, zmm6, ", $tail, "\n", $op, " zmm7, zmm7, ", $tail, "\n",
            $op, " zmm8, zmm8, ", $tail, "\n", $op, " zmm9, zmm9, ", $tail, "\n",
            $op, " zmm10, zmm10, ", $tail, "\n", $op, " zmm11, zmm11, ", $tail),
            out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
            out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
            out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
            out("zmm31") _,);
    };
}
/// Twelve independent chains of one ymm instruction.
macro_rules! ymm_throughput {
    ($name:ident, $features:literal, $op:literal, $tail:literal) => {
        timed!($name, $features, 12, concat!(
            $op, " ymm0, ymm0, ", $tail, "\n", $op, " ymm1, ymm1, ", $tail, "\n",
            $op, " ymm2, ymm2, ", $tail, "\n", $op, " ymm3, ymm3, ", $tail, "\n",
            $op, " ymm4, ymm4, ", $tail, "\n", $op, " ymm5, ymm5, ", $tail, "\n",
            $op, " ymm6, ymm6, ", $tail, "\n", $op, " ymm7, ymm7, ", $tail, "\n",
            $op, " ymm8, ymm8, ", $tail, "\n", $op, " ymm9, ymm9, ", $tail, "\n",
            $op, " ymm10, ymm10, ", $tail, "\n", $op, " ymm11, ymm11, ", $tail),
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
            out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
            out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
            out("ymm15") _,);
    };
}

zmm_throughput!(zmm_add_tp, "avx512f", "vpaddd", "zmm31");
zmm_throughput!(zmm_ternlog_tp, "avx512f", "vpternlogd", "zmm31, 0x96");
zmm_throughput!(zmm_rotate_tp, "avx512f", "vprold", "7");
zmm_throughput!(zmm_shift_tp, "avx512f", "vpsrld", "3");
ymm_throughput!(ymm_add_tp, "avx2", "vpaddd", "ymm15");
ymm_throughput!(ymm_xor_tp, "avx2", "vpxor", "ymm15");
ymm_throughput!(ymm_shift_tp, "avx2", "vpsrld", "3");
ymm_throughput!(
    ymm_ternlog_tp,
    "avx512f,avx512vl",
    "vpternlogd",
    "ymm15, 0x96"
);
ymm_throughput!(ymm_rotate_tp, "avx512f,avx512vl", "vprold", "7");

// The AVX-512 kernel's mix: 5 rotates or shifts, 4 adds and 3
// three-input ops in every 12, on independent chains.
timed!(zmm_mix_tp, "avx512f", 12, concat!(
    "vprold zmm0, zmm0, 7\nvpaddd zmm1, zmm1, zmm31\nvpternlogd zmm2, zmm2, zmm31, 0x96\n",
    "vprold zmm3, zmm3, 7\nvpaddd zmm4, zmm4, zmm31\nvprold zmm5, zmm5, 7\n",
    "vpaddd zmm6, zmm6, zmm31\nvpternlogd zmm7, zmm7, zmm31, 0x96\nvprold zmm8, zmm8, 7\n",
    "vpaddd zmm9, zmm9, zmm31\nvpsrld zmm10, zmm10, 3\nvpternlogd zmm11, zmm11, zmm31, 0x96"),
    out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
    out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
    out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
    out("zmm31") _,);
timed!(ymm_mix_tp, "avx512f,avx512vl", 12, concat!(
    "vprold ymm0, ymm0, 7\nvpaddd ymm1, ymm1, ymm15\nvpternlogd ymm2, ymm2, ymm15, 0x96\n",
    "vprold ymm3, ymm3, 7\nvpaddd ymm4, ymm4, ymm15\nvprold ymm5, ymm5, 7\n",
    "vpaddd ymm6, ymm6, ymm15\nvpternlogd ymm7, ymm7, ymm15, 0x96\nvprold ymm8, ymm8, 7\n",
    "vpaddd ymm9, ymm9, ymm15\nvpsrld ymm10, ymm10, 3\nvpternlogd ymm11, ymm11, ymm15, 0x96"),
    out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
    out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
    out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
    out("ymm15") _,);

timed!(zmm_move_tp, "avx512f", 12, concat!(
    "vmovdqa64 zmm0, zmm20\nvmovdqa64 zmm1, zmm21\nvmovdqa64 zmm2, zmm22\n",
    "vmovdqa64 zmm3, zmm23\nvmovdqa64 zmm4, zmm24\nvmovdqa64 zmm5, zmm25\n",
    "vmovdqa64 zmm6, zmm20\nvmovdqa64 zmm7, zmm21\nvmovdqa64 zmm8, zmm22\n",
    "vmovdqa64 zmm9, zmm23\nvmovdqa64 zmm10, zmm24\nvmovdqa64 zmm11, zmm25"),
    out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
    out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
    out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
    out("zmm20") _, out("zmm21") _, out("zmm22") _, out("zmm23") _,
    out("zmm24") _, out("zmm25") _,);
// The mix above with a register copy after every second instruction:
// whether copies take an ALU slot.
timed!(zmm_mix_move_tp, "avx512f", 12, concat!(
    "vprold zmm0, zmm0, 7\nvpaddd zmm1, zmm1, zmm31\nvmovdqa64 zmm20, zmm0\n",
    "vprold zmm3, zmm3, 7\nvpaddd zmm4, zmm4, zmm31\nvmovdqa64 zmm21, zmm3\n",
    "vpaddd zmm6, zmm6, zmm31\nvpternlogd zmm7, zmm7, zmm31, 0x96\nvmovdqa64 zmm22, zmm6\n",
    "vpaddd zmm9, zmm9, zmm31\nvpsrld zmm10, zmm10, 3\nvmovdqa64 zmm23, zmm9"),
    out("zmm0") _, out("zmm1") _, out("zmm3") _,
    out("zmm4") _, out("zmm6") _, out("zmm7") _,
    out("zmm9") _, out("zmm10") _, out("zmm20") _, out("zmm21") _,
    out("zmm22") _, out("zmm23") _, out("zmm31") _,);

timed!(zmm_add_lat, "avx512f", 1, "vpaddd zmm0, zmm0, zmm1",
    out("zmm0") _, out("zmm1") _,);
timed!(zmm_rotate_lat, "avx512f", 1, "vprold zmm0, zmm0, 7",
    out("zmm0") _,);
timed!(zmm_ternlog_src1_lat, "avx512f", 1, "vpternlogd zmm0, zmm1, zmm2, 0x96",
    out("zmm0") _, out("zmm1") _, out("zmm2") _,);
timed!(zmm_ternlog_src2_lat, "avx512f", 2,
    "vpternlogd zmm1, zmm0, zmm2, 0x96\nvpternlogd zmm0, zmm1, zmm2, 0x96",
    out("zmm0") _, out("zmm1") _, out("zmm2") _,);
timed!(ymm_add_lat, "avx2", 1, "vpaddd ymm0, ymm0, ymm1",
    out("ymm0") _, out("ymm1") _,);
timed!(sha_rnds2_tp, "sha,sse4.1", 8, concat!(
    "sha256rnds2 xmm1, xmm9\nsha256rnds2 xmm2, xmm9\nsha256rnds2 xmm3, xmm9\nsha256rnds2 xmm4, xmm9\n",
    "sha256rnds2 xmm5, xmm9\nsha256rnds2 xmm6, xmm9\nsha256rnds2 xmm7, xmm9\nsha256rnds2 xmm8, xmm9"),
    out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
    out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,);
// The SHA-NI kernel's mix: two `sha256rnds2`, one `sha256msg1` and one
// `sha256msg2` per four rounds, on independent chains: whether the
// message instructions share the round instruction's unit.
timed!(sha_mix_tp, "sha,sse4.1", 8, concat!(
    "sha256rnds2 xmm1, xmm9\nsha256msg1 xmm2, xmm9\nsha256rnds2 xmm3, xmm9\nsha256msg2 xmm4, xmm9\n",
    "sha256rnds2 xmm5, xmm9\nsha256msg1 xmm6, xmm9\nsha256rnds2 xmm7, xmm9\nsha256msg2 xmm8, xmm9"),
    out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
    out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,);
// The SHA-NI kernel's own mix of SHA and plain vector instructions, all
// independent of each other, in the ratio of its compiled loop (per eight
// `sha256rnds2`: three `sha256msg1`, three `sha256msg2`, seven `paddd`,
// four `pshufd`, three `palignr`): whether the plain ops share the SHA
// units' pipes, and what the kernel could reach with any number of streams
// and neither copies nor spills.
timed!(sha_kernel_mix_tp, "sha,sse4.1", 28, concat!(
    "sha256rnds2 xmm1, xmm9\nsha256msg1 xmm5, xmm9\npaddd xmm11, xmm9\npshufd xmm12, xmm9, 0x0e\n",
    "sha256rnds2 xmm2, xmm9\nsha256msg2 xmm8, xmm9\npaddd xmm14, xmm9\npalignr xmm15, xmm9, 4\n",
    "sha256rnds2 xmm3, xmm9\npaddd xmm11, xmm9\nsha256msg1 xmm6, xmm9\npshufd xmm12, xmm9, 0x1b\n",
    "sha256rnds2 xmm4, xmm9\npaddd xmm14, xmm9\nsha256msg2 xmm10, xmm9\npalignr xmm15, xmm9, 8\n",
    "sha256rnds2 xmm1, xmm9\npaddd xmm11, xmm9\npshufd xmm12, xmm9, 0xb1\nsha256rnds2 xmm2, xmm9\n",
    "sha256msg1 xmm7, xmm9\npaddd xmm14, xmm9\nsha256rnds2 xmm3, xmm9\nsha256msg2 xmm13, xmm9\n",
    "palignr xmm15, xmm9, 12\nsha256rnds2 xmm4, xmm9\npaddd xmm11, xmm9\npshufd xmm12, xmm9, 0x0e",
    ),
    out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
    out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,
    out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _, out("xmm14") _,
    out("xmm15") _,);
timed!(sha_rnds2_lat, "sha,sse4.1", 1, "sha256rnds2 xmm1, xmm2",
    out("xmm0") _, out("xmm1") _, out("xmm2") _,);

/// One measured figure.
pub struct Figure {
    pub name: &'static str,
    /// Instructions per cycle (throughput) or cycles (latency).
    pub value: f64,
    pub unit: &'static str,
}

/// Every figure this CPU supports, and the clock in GHz.
pub fn measure() -> (f64, Vec<Figure>) {
    const ITERS: u64 = 200_000;
    // SAFETY: plain scalar adds run on every x86_64 CPU.
    let ns_per_cycle = unsafe { clock_chain(ITERS * 4) };
    let ghz = 1.0 / ns_per_cycle;
    let mut out = Vec::new();
    let mut tp = |name, ns: f64| {
        out.push(Figure {
            name,
            value: ns_per_cycle / ns,
            unit: "per cycle",
        })
    };
    let avx512 = is_x86_feature_detected!("avx512f");
    let vl = avx512 && is_x86_feature_detected!("avx512vl");
    let avx2 = is_x86_feature_detected!("avx2");
    let sha = is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1");
    // SAFETY (every call below): each runs only where the feature it was
    // compiled for was detected on this CPU.
    unsafe {
        if avx512 {
            tp("vpaddd zmm", zmm_add_tp(ITERS));
            tp("vpternlogd zmm", zmm_ternlog_tp(ITERS));
            tp("vprold zmm", zmm_rotate_tp(ITERS));
            tp("vpsrld zmm", zmm_shift_tp(ITERS));
            tp(
                "kernel mix zmm (5 rot, 4 add, 3 ternlog)",
                zmm_mix_tp(ITERS),
            );
            tp("vmovdqa64 zmm, zmm", zmm_move_tp(ITERS));
            tp("8 ALU + 4 copies zmm (all counted)", zmm_mix_move_tp(ITERS));
        }
        if avx2 {
            tp("vpaddd ymm", ymm_add_tp(ITERS));
            tp("vpxor ymm", ymm_xor_tp(ITERS));
            tp("vpsrld ymm", ymm_shift_tp(ITERS));
        }
        if vl {
            tp("vpternlogd ymm", ymm_ternlog_tp(ITERS));
            tp("vprold ymm", ymm_rotate_tp(ITERS));
            tp(
                "kernel mix ymm (5 rot, 4 add, 3 ternlog)",
                ymm_mix_tp(ITERS),
            );
        }
        if sha {
            tp("sha256rnds2", sha_rnds2_tp(ITERS));
            tp("sha256rnds2, msg1, msg2 mix (2:1:1)", sha_mix_tp(ITERS));
            tp(
                "SHA-NI kernel mix (8 rnds2, 6 msg, 14 others)",
                sha_kernel_mix_tp(ITERS),
            );
        }
    }
    let mut lat = |name, ns: f64| {
        out.push(Figure {
            name,
            value: ns / ns_per_cycle,
            unit: "cycles",
        })
    };
    // SAFETY: as above.
    unsafe {
        if avx512 {
            lat("vpaddd zmm latency", zmm_add_lat(ITERS));
            lat("vprold zmm latency", zmm_rotate_lat(ITERS));
            lat(
                "vpternlogd zmm latency via src1",
                zmm_ternlog_src1_lat(ITERS),
            );
            lat(
                "vpternlogd zmm latency via src2",
                zmm_ternlog_src2_lat(ITERS),
            );
        }
        if avx2 {
            lat("vpaddd ymm latency", ymm_add_lat(ITERS));
        }
        if sha {
            lat("sha256rnds2 latency", sha_rnds2_lat(ITERS));
        }
    }
    (ghz, out)
}
