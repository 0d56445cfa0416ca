//! GPU throughput of hashrig's kernel beside a plain baseline kernel, on
//! the same adapter in the same run, so that their ratio comes from one
//! measurement.
//!
//! The baseline is the textbook SHA-256d kernel: the first 64 header bytes
//! folded into a midstate, both compressions of every nonce written out in
//! full (64 rounds, 48 schedule words each, no constant folding), the whole
//! 256-bit hash compared with the target (no early exit), one nonce per
//! invocation and 1,048,576 nonces per dispatch.
//!
//! The adapter is the one `HASHRIG_DEVICE` names, else the first one found
//! (lavapipe on a machine without a GPU). With no adapter at all the bench
//! prints why and measures nothing.

mod bench_adapter;
mod wgsl_kernel;

use std::fmt::Write as _;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hashrig::gpu::{cached_or_calibrate, AdapterEntry, GpuDevice, LaunchConfig};
use hashrig::sha256::{IV, K};
use hashrig::{Header, HeaderJob, Job, Midstate, NonceRange, SearchOptions};
use wgsl_kernel::Kernel;

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
const BASELINE_NONCES: u32 = 1 << 20;
const WORKGROUP: u32 = 64;

/// One compression written out: `state` names eight u32 expressions, `w`
/// sixteen message-word expressions; the result lands in `out0..out7`.
fn plain_compress(src: &mut String, tag: &str, state: [String; 8], w: [String; 16], out: &str) {
    for (i, expr) in w.iter().enumerate() {
        writeln!(src, "    let {tag}w{i} = {expr};").unwrap();
    }
    for t in 16..64 {
        writeln!(
            src,
            "    let {tag}w{t} = ssig1({tag}w{}) + {tag}w{} + ssig0({tag}w{}) + {tag}w{};",
            t - 2,
            t - 7,
            t - 15,
            t - 16
        )
        .unwrap();
    }
    for (v, s) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().zip(&state) {
        writeln!(src, "    var {tag}{v} = {s};").unwrap();
    }
    for (t, k) in K.iter().enumerate() {
        writeln!(
            src,
            "    {{ let t1 = {tag}h + bsig1({tag}e) + ch({tag}e, {tag}f, {tag}g) + 0x{k:08x}u + {tag}w{t}; \
             let t2 = bsig0({tag}a) + maj({tag}a, {tag}b, {tag}c); \
             {tag}h = {tag}g; {tag}g = {tag}f; {tag}f = {tag}e; {tag}e = {tag}d + t1; \
             {tag}d = {tag}c; {tag}c = {tag}b; {tag}b = {tag}a; {tag}a = t1 + t2; }}"
        )
        .unwrap();
    }
    for (i, (v, s)) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(&state)
        .enumerate()
    {
        writeln!(src, "    let {out}{i} = {s} + {tag}{v};").unwrap();
    }
}

/// The plain SHA-256d header kernel described at the top of this file.
fn baseline_wgsl() -> String {
    let mut src = String::from(
        "struct Params { mid: array<vec4<u32>, 2>, tail: vec4<u32>, goal: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> found: array<atomic<u32>>;
fn rotr(x: u32, n: u32) -> u32 { return (x >> n) | (x << (32u - n)); }
fn bsig0(x: u32) -> u32 { return rotr(x, 2u) ^ rotr(x, 13u) ^ rotr(x, 22u); }
fn bsig1(x: u32) -> u32 { return rotr(x, 6u) ^ rotr(x, 11u) ^ rotr(x, 25u); }
fn ssig0(x: u32) -> u32 { return rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u); }
fn ssig1(x: u32) -> u32 { return rotr(x, 17u) ^ rotr(x, 19u) ^ (x >> 10u); }
fn ch(e: u32, f: u32, g: u32) -> u32 { return (e & f) ^ (~e & g); }
fn maj(a: u32, b: u32, c: u32) -> u32 { return (a & b) ^ (a & c) ^ (b & c); }
fn bswap(x: u32) -> u32 { return (x << 24u) | ((x << 8u) & 0xff0000u) | ((x >> 8u) & 0xff00u) | (x >> 24u); }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let nonce = p.tail.w + gid.x;
",
    );
    let mid: [String; 8] = std::array::from_fn(|i| format!("p.mid[{}][{}]", i / 4, i % 4));
    let mut block: [String; 16] = std::array::from_fn(|_| "0u".to_string());
    block[0] = "p.tail.x".into();
    block[1] = "p.tail.y".into();
    block[2] = "p.tail.z".into();
    block[3] = "bswap(nonce)".into();
    block[4] = "0x80000000u".into();
    block[15] = "640u".into();
    plain_compress(&mut src, "x", mid, block, "s");
    let iv: [String; 8] = std::array::from_fn(|i| format!("0x{:08x}u", IV[i]));
    let mut second: [String; 16] = std::array::from_fn(|_| "0u".to_string());
    for (i, w) in second.iter_mut().enumerate().take(8) {
        *w = format!("s{i}");
    }
    second[8] = "0x80000000u".into();
    second[15] = "256u".into();
    plain_compress(&mut src, "y", iv, second, "h");
    // The full little-endian 256-bit comparison, most significant word first.
    src.push_str("    var meets = true;\n    var decided = false;\n");
    for i in (0..8).rev() {
        writeln!(
            src,
            "    if (!decided) {{ let v = bswap(h{i}); let t = p.goal[{}][{}]; \
             if (v < t) {{ decided = true; }} else if (v > t) {{ meets = false; decided = true; }} }}",
            i / 4,
            i % 4
        )
        .unwrap();
    }
    src.push_str(
        "    if (meets) { let slot = atomicAdd(&found[0], 1u); if (slot < 64u) { atomicStore(&found[slot + 1u], nonce); } }\n}\n",
    );
    src
}

/// The baseline kernel on its own device, ready to dispatch.
struct Baseline(Kernel);

impl Baseline {
    fn new(entry: &AdapterEntry, header: &Header) -> Baseline {
        let bytes = header.to_bytes();
        let word = |i: usize| u32::from_be_bytes(bytes[64 + 4 * i..68 + 4 * i].try_into().unwrap());
        let mid = Midstate::of_prefix(&bytes[..64]).state;
        // The header's own target, as eight words, most significant first
        // within the comparison above (word i is the hash's word i).
        let target = HeaderJob::from_header(*header).unwrap().target;
        let t = target.to_be_bytes();
        let mut target_words = [0u32; 8];
        for (i, w) in target_words.iter_mut().enumerate() {
            // Hash word i read little-endian is bytes 4i..4i+4 of the
            // little-endian hash, i.e. bytes 28-4i..32-4i of the big-endian one.
            *w = u32::from_be_bytes(t[28 - 4 * i..32 - 4 * i].try_into().unwrap());
        }
        let mut params = Vec::<u32>::new();
        params.extend(mid);
        params.extend([word(0), word(1), word(2), 0]);
        params.extend(target_words);
        let kernel = Kernel::new(
            entry,
            "baseline",
            &baseline_wgsl(),
            4 * params.len() as u64,
            4 * 65,
        );
        kernel.set_params(&params);
        Baseline(kernel)
    }

    /// One dispatch of `BASELINE_NONCES` nonces, waited for.
    fn dispatch(&self) {
        self.0.dispatch(BASELINE_NONCES / WORKGROUP, true);
    }
}

fn gpu_kernels(c: &mut Criterion) {
    let Some(entry) = bench_adapter::chosen("gpu_kernels") else {
        return;
    };
    let header = Header::from_hex(GENESIS).unwrap();
    let baseline = Baseline::new(&entry, &header);
    // hashrig's kernel with the launch settings calibration picks for it.
    let (calibration, _) =
        cached_or_calibrate(&entry, LaunchConfig::default().batch_time, false, None)
            .expect("calibrates");
    let hashrig = GpuDevice::open(&entry, calibration.config).expect("device opens");
    let job = Job::from(HeaderJob::from_header(header).unwrap());
    let nonces = 1 << 24;

    let mut group = c.benchmark_group(format!("sha256d_gpu {}", entry.info.name));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(BASELINE_NONCES as u64));
    group.bench_function("plain_baseline", |b| b.iter(|| baseline.dispatch()));
    group.throughput(Throughput::Elements(nonces));
    group.bench_function("hashrig", |b| {
        b.iter(|| {
            hashrig
                .search(&job, NonceRange::new(0, nonces), &SearchOptions::default())
                .unwrap()
        })
    });
    group.finish();

    // The ratio from alternating runs (baseline, hashrig, baseline, ...),
    // median of each, so that slow drifts of a noisy machine hit both.
    let (mut base, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = std::time::Instant::now();
        for _ in 0..8 {
            baseline.dispatch();
        }
        base.push(8.0 * BASELINE_NONCES as f64 / t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        hashrig
            .search(&job, NonceRange::new(0, nonces), &SearchOptions::default())
            .unwrap();
        ours.push(nonces as f64 / t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, o) = (median(&mut base), median(&mut ours));
    variants(&entry, calibration.config);
    println!(
        "alternating medians: plain baseline {:.2} MH/s, hashrig {:.2} MH/s ({} x {} nonces): {:.2}x",
        b / 1e6,
        o / 1e6,
        calibration.config.workgroup_size,
        calibration.config.nonces_per_invocation,
        o / b
    );
}

criterion_group!(benches, gpu_kernels);
criterion_main!(benches);

/// Ways to write rotate and Ch in WGSL (which has neither), each swapped
/// into the shader and measured in turn, five rounds, medians printed.
fn variants(entry: &AdapterEntry, config: LaunchConfig) {
    use hashrig::gpu::shader::SHADER_SOURCE;
    let rotr = "return (x >> n) | (x << (32u - n));";
    let ch = "return g ^ (e & (f ^ g));";
    assert!(SHADER_SOURCE.contains(rotr) && SHADER_SOURCE.contains(ch));
    let cases = [
        (
            "rotr (x >> n) | (x << (32 - n)), ch g ^ (e & (f ^ g)), runtime checks on",
            SHADER_SOURCE.to_string(),
        ),
        (
            "rotr with ^",
            SHADER_SOURCE.replace(rotr, "return (x >> n) ^ (x << (32u - n));"),
        ),
        (
            "rotr with +",
            SHADER_SOURCE.replace(rotr, "return (x >> n) + (x << (32u - n));"),
        ),
        (
            "ch (e & f) ^ (~e & g)",
            SHADER_SOURCE.replace(ch, "return (e & f) ^ (~e & g);"),
        ),
        (
            "ch (e & f) | (~e & g)",
            SHADER_SOURCE.replace(ch, "return (e & f) | (~e & g);"),
        ),
    ];
    // Every kernel form as `open` builds it (wgpu's runtime checks off),
    // the first beside the same source with them on (the first case).
    let mut devices: Vec<(&str, GpuDevice)> = hashrig::gpu::KernelForm::ALL
        .into_iter()
        .map(|form| {
            let config = LaunchConfig {
                form: Some(form),
                ..config
            };
            let name = match form {
                hashrig::gpu::KernelForm::ConstantRotates => {
                    "form constant-rotates (the same, runtime checks off)"
                }
                hashrig::gpu::KernelForm::RotationAmounts => "form rotation-amounts",
            };
            (name, GpuDevice::open(entry, config).expect("device opens"))
        })
        .collect();
    devices.extend(cases.iter().map(|(name, source)| {
        let d = GpuDevice::open_with_source(entry, config, source).expect("variant opens");
        (*name, d)
    }));
    let mut rates = vec![Vec::new(); devices.len()];
    for _ in 0..5 {
        for (i, (_, d)) in devices.iter().enumerate() {
            let warm = Duration::from_millis(100);
            rates[i].push(hashrig::gpu::measure(d, warm, Duration::from_millis(400)).unwrap());
        }
    }
    for ((name, _), r) in devices.iter().zip(&mut rates) {
        r.sort_by(f64::total_cmp);
        println!("variant {name}: median {:.2} MH/s", r[r.len() / 2] / 1e6);
    }
}
