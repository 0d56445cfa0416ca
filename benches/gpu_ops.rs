//! What the GPU driver makes of SHA-256's operations: the same dependent
//! chain written with a rotate, with a shift and with additions, timed on
//! one adapter in one run.
//!
//! Every invocation carries two words through a loop of half-steps that
//! each depend on the one before:
//!
//! - `add`: `a = a + b; b = b + a` (one instruction per half-step anywhere);
//! - `xor-shift`: `a ^= b >> 7; b ^= a << 13` (two instructions anywhere);
//! - `xor-rotate`: `a ^= rotr(b, 7); b ^= rotr(a, 13)`, with `rotr` written
//!   as hashrig's kernel writes it, `(x >> n) | (x << (32 - n))`.
//!
//! None of them folds away: each half-step needs the other word's latest
//! value. If the driver turns the rotate into one funnel shift (NVIDIA's
//! SHF, AMD's `v_alignbit`), `xor-rotate` costs what `xor-shift` costs; if
//! it keeps two shifts and an or, it costs half as much again or more
//! (three instructions against two in throughput, two dependent ones
//! against one in latency). Where `xor-rotate` lands between them tells
//! which form of the kernel cost model (docs/KERNEL-COST.md) applies.
//!
//! Two ways to time each chain:
//!
//! - latency: one workgroup of 64 invocations, so the chain's dependency
//!   bounds the time (nanoseconds per half-step);
//! - throughput: 2^20 invocations, enough to fill the largest GPUs, so the
//!   issue rate bounds it (half-steps per second over the whole device).
//!
//! The loop count is raised until one dispatch takes at least 20 ms, so
//! that launch overhead stays out of the figures (up to 2^15 loops of 64
//! half-steps: llvmpipe cuts every loop at 65,535 iterations). The adapter is the one
//! `HASHRIG_DEVICE` names, else the first one found (lavapipe on a machine
//! without a GPU). With no adapter at all the bench prints why and
//! measures nothing.

mod bench_adapter;
mod wgsl_kernel;

use std::fmt::Write as _;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hashrig::gpu::AdapterEntry;
use wgsl_kernel::Kernel;

const WORKGROUP: u32 = 64;
/// Half-steps written out in the loop body: the loop count multiplies it.
const UNROLL: u32 = 64;
/// The most loops a dispatch asks for: llvmpipe (lavapipe) ends any loop
/// after 65,535 iterations, whatever its condition says.
const MAX_LOOPS: u32 = 1 << 15;
const WIDE: u32 = 1 << 20;

/// The chains, by name: the WGSL of one pair of half-steps.
const CHAINS: [(&str, &str); 3] = [
    ("add", "a = a + b; b = b + a;"),
    ("xor-shift", "a = a ^ (b >> 7u); b = b ^ (a << 13u);"),
    ("xor-rotate", "a = a ^ rotr(b, 7u); b = b ^ rotr(a, 13u);"),
];

fn chain_wgsl(pair: &str) -> String {
    let mut src = String::from(
        "struct Params { seed: u32, loops: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
fn rotr(x: u32, n: u32) -> u32 { return (x >> n) | (x << (32u - n)); }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    var a = gid.x ^ p.seed;
    var b = gid.x * 0x9e3779b9u + p.seed;
    for (var i = 0u; i < p.loops; i++) {
",
    );
    for _ in 0..UNROLL / 2 {
        writeln!(src, "        {pair}").unwrap();
    }
    src.push_str("    }\n    out[gid.x] = a ^ b;\n}\n");
    src
}

/// One chain's kernel on its own device.
struct Chain {
    name: &'static str,
    kernel: Kernel,
}

impl Chain {
    fn new(entry: &AdapterEntry, name: &'static str, pair: &str) -> Chain {
        let kernel = Kernel::new(entry, name, &chain_wgsl(pair), 16, 4 * u64::from(WIDE));
        Chain { name, kernel }
    }

    /// One dispatch of `invocations` running `loops` loops each, waited for.
    fn run(&self, invocations: u32, loops: u32) -> Duration {
        self.kernel.set_params(&[0x5851_f42d, loops, 0, 0]);
        self.kernel.dispatch(invocations / WORKGROUP, false)
    }

    /// The loop count that makes one dispatch of `invocations` last at
    /// least 20 ms (the shader is compiled on the first run, so that one
    /// is not counted).
    fn loops_for(&self, invocations: u32) -> u32 {
        self.run(invocations, 1);
        let mut loops = 1u32;
        while loops < MAX_LOOPS && self.run(invocations, loops) < Duration::from_millis(20) {
            loops *= 2;
        }
        loops
    }
}

/// Half-steps per second of one dispatch.
fn rate(chain: &Chain, invocations: u32, loops: u32) -> f64 {
    let half_steps = f64::from(invocations) * f64::from(loops) * f64::from(UNROLL);
    half_steps / chain.run(invocations, loops).as_secs_f64()
}

fn gpu_ops(c: &mut Criterion) {
    let Some(entry) = bench_adapter::chosen("gpu_ops") else {
        return;
    };
    let chains: Vec<Chain> = CHAINS
        .iter()
        .map(|(name, pair)| Chain::new(&entry, name, pair))
        .collect();
    // One loop count per width for every chain (the add chain's, the
    // cheapest), so that each dispatch does the same number of half-steps.
    let widths = [("latency", WORKGROUP), ("throughput", WIDE)];
    let loops: Vec<u32> = widths
        .iter()
        .map(|&(_, width)| chains[0].loops_for(width))
        .collect();

    for (&(mode, width), &loops) in widths.iter().zip(&loops) {
        let mut group = c.benchmark_group(format!("gpu_ops {} {mode}", entry.label()));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(4));
        group.throughput(Throughput::Elements(
            u64::from(width) * u64::from(loops) * u64::from(UNROLL),
        ));
        for chain in &chains {
            group.bench_function(chain.name, |b| b.iter(|| chain.run(width, loops)));
        }
        group.finish();
    }

    // Medians of alternating runs (add, xor-shift, xor-rotate, add, ...),
    // so that a noisy machine's drift hits every chain alike.
    for (&(mode, width), &loops) in widths.iter().zip(&loops) {
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); chains.len()];
        for _ in 0..7 {
            for (chain, r) in chains.iter().zip(&mut rates) {
                r.push(rate(chain, width, loops));
            }
        }
        let medians: Vec<f64> = rates
            .iter_mut()
            .map(|r| {
                r.sort_by(f64::total_cmp);
                r[r.len() / 2]
            })
            .collect();
        let ns = |r: f64| 1e9 * f64::from(width) / r;
        let figures: Vec<String> = chains
            .iter()
            .zip(&medians)
            .map(|(chain, &r)| match mode {
                "latency" => format!("{} {:.3} ns", chain.name, ns(r)),
                _ => format!("{} {:.2} G/s", chain.name, r / 1e9),
            })
            .collect();
        println!(
            "{mode} per half-step ({width} invocations x {} half-steps): {}; \
             xor-rotate costs {:.2}x xor-shift and {:.2}x add",
            loops * UNROLL,
            figures.join(", "),
            medians[1] / medians[2],
            medians[0] / medians[2],
        );
    }
}

criterion_group!(benches, gpu_ops);
criterion_main!(benches);
