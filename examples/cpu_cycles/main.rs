//! Cycle accounting of the CPU kernels on the machine at hand: for each
//! header-scan kernel this CPU runs, the vector ops per nonce in its
//! compiled loop (read from this program's own machine code with
//! `objdump`), the port bound those ops allow at the throughputs measured
//! on this core, the measured cycles per nonce on one thread (the clock from
//! a chain of dependent adds), and the ratio bound / measured.
//!
//! ```text
//! cargo run --release --example cpu_cycles                 # tables
//! cargo run --release --example cpu_cycles -- --json       # JSON lines
//! cargo run --release --example cpu_cycles -- --ports      # the port figures alone
//! ```
//!
//! The bound of a loop is the largest of: its vector ALU ops over the
//! measured throughput of the kernel's op mix at its register width, its
//! rotates and shifts over the rotate throughput, its `sha256rnds2` over
//! that instruction's throughput, and its SHA instructions (rounds and
//! message schedule, which share a unit) over the throughput of their mix,
//! and for the SHA kernels all their vector ops over the throughput of the
//! SHA-NI kernel's own mix of SHA and plain ops (which share pipes);
//! all divided by the nonces one pass of the loop hashes. Register copies are left out: the core eliminates
//! them at rename (`vmovdqa64 zmm, zmm` runs 6 a cycle beside the ALU ops,
//! see `--ports`).

#[cfg(target_arch = "x86_64")]
mod ports;

#[cfg(target_arch = "x86_64")]
mod accounting {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use hashrig::{search, CpuKernel, Header, HeaderJob, Job, NonceRange, SearchOptions};

    use super::ports::Figure;

    /// The loop of one kernel: where it is, and the width of its registers.
    /// A pass of the loop hashes `kernel.lanes()` nonces.
    struct Loop {
        kernel: CpuKernel,
        symbol: &'static str,
        width: Width,
        /// The function is one pass, unrolled, with no loop of its own.
        whole: bool,
    }

    #[derive(Clone, Copy)]
    enum Width {
        Zmm,
        Ymm,
        Xmm,
    }

    const LOOPS: &[Loop] = &[
        Loop {
            kernel: CpuKernel::Avx512,
            symbol: "hashrig::cpu::x86_avx512::scan_header_simd",
            width: Width::Zmm,
            whole: false,
        },
        Loop {
            kernel: CpuKernel::Avx512Pipelined,
            symbol: "hashrig::cpu::x86_avx512::scan_header_pipelined_simd",
            width: Width::Zmm,
            whole: false,
        },
        Loop {
            kernel: CpuKernel::Avx2,
            symbol: "hashrig::cpu::x86_avx2::scan_header_simd",
            width: Width::Ymm,
            whole: false,
        },
        Loop {
            kernel: CpuKernel::Avx2Pipelined,
            symbol: "hashrig::cpu::x86_avx2::scan_header_pipelined_simd",
            width: Width::Ymm,
            whole: false,
        },
        Loop {
            kernel: CpuKernel::Avx512Vl,
            symbol: "hashrig::cpu::x86_avx512vl::scan_header_simd",
            width: Width::Ymm,
            whole: false,
        },
        Loop {
            kernel: CpuKernel::Avx512VlPipelined,
            symbol: "hashrig::cpu::x86_avx512vl::scan_header_pipelined_simd",
            width: Width::Ymm,
            whole: false,
        },
        Loop {
            kernel: CpuKernel::ShaNi,
            symbol: "hashrig::cpu::x86_shani::final_h7",
            width: Width::Xmm,
            whole: true,
        },
        Loop {
            kernel: CpuKernel::ShaNi60,
            symbol: "hashrig::cpu::x86_shani::final_h7_60",
            width: Width::Xmm,
            whole: true,
        },
    ];

    /// The vector ops of one loop, by class.
    #[derive(Default)]
    struct Ops {
        alu: u32,
        rotates_and_shifts: u32,
        sha_rounds: u32,
        sha_messages: u32,
        copies: u32,
        memory: u32,
    }

    /// Disassembles `symbol` in this executable and counts the vector ops
    /// of its largest loop (the longest backward jump), or of all of it.
    fn loop_ops(symbol: &str, whole: bool) -> Result<Ops, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let nm = Command::new("nm")
            .args(["-C", "-S"])
            .arg(&exe)
            .output()
            .map_err(|e| format!("nm: {e}"))?;
        let nm = String::from_utf8_lossy(&nm.stdout);
        let (start, size) = nm
            .lines()
            .find_map(|line| {
                let mut parts = line.splitn(4, ' ');
                let (a, s, _, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                (name == symbol).then(|| {
                    (
                        u64::from_str_radix(a, 16).ok(),
                        u64::from_str_radix(s, 16).ok(),
                    )
                })
            })
            .and_then(|(a, s)| Some((a?, s?)))
            .ok_or_else(|| format!("{symbol} not in this executable"))?;
        let dump = Command::new("objdump")
            .args(["-d", "--no-show-raw-insn", "-M", "intel"])
            .arg(format!("--start-address={start}"))
            .arg(format!("--stop-address={}", start + size))
            .arg(&exe)
            .output()
            .map_err(|e| format!("objdump: {e}"))?;
        let dump = String::from_utf8_lossy(&dump.stdout);
        let insns: Vec<(u64, &str, &str)> = dump
            .lines()
            .filter_map(|line| {
                let (addr, rest) = line.trim_start().split_once(":\t")?;
                let addr = u64::from_str_radix(addr, 16).ok()?;
                let rest = rest.trim();
                let (op, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                Some((addr, op, args.trim()))
            })
            .collect();
        let all = (
            insns.first().map_or(0, |i| i.0),
            insns.last().map_or(0, |i| i.0),
        );
        let (lo, hi) = if whole {
            all
        } else {
            insns
                .iter()
                .filter(|(_, op, _)| op.starts_with('j'))
                .filter_map(|&(addr, _, args)| {
                    let target = u64::from_str_radix(args.split_whitespace().next()?, 16).ok()?;
                    (target < addr).then_some((target, addr))
                })
                .max_by_key(|(t, a)| a - t)
                .ok_or("no loop found")?
        };
        let mut ops = Ops::default();
        for &(_, op, args) in insns.iter().filter(|(a, _, _)| (lo..=hi).contains(a)) {
            if !args.contains("mm") {
                continue;
            }
            let memory = args.contains('[');
            if op.starts_with("vmov") || op.starts_with("mov") || op.starts_with("vpbroadcast") {
                if memory {
                    ops.memory += 1;
                } else {
                    ops.copies += 1;
                }
                continue;
            }
            if op.starts_with("sha256rnds2") {
                ops.sha_rounds += 1;
            } else if op.starts_with("sha256msg") {
                ops.sha_messages += 1;
            }
            if matches!(
                op,
                "vprold"
                    | "vprord"
                    | "vpsrld"
                    | "vpslld"
                    | "psrld"
                    | "pslld"
                    | "vpsrldq"
                    | "vpslldq"
            ) {
                ops.rotates_and_shifts += 1;
            }
            ops.alu += 1;
        }
        Ok(ops)
    }

    /// Best single-thread nanoseconds per nonce of `kernel` over `nonces`.
    fn ns_per_nonce(kernel: CpuKernel, nonces: u64) -> f64 {
        const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
        let header = Header::from_hex(GENESIS).expect("the genesis header");
        let job = Job::from(HeaderJob::from_header(header).expect("its target"));
        let options = SearchOptions {
            kernel: Some(kernel),
            threads: Some(1),
            ..Default::default()
        };
        let mut best = Duration::MAX;
        let deadline = Instant::now() + Duration::from_secs(3);
        for round in 0u64.. {
            let range = NonceRange::new(round * nonces % (1 << 32), nonces);
            let t = Instant::now();
            search(&job, range, &options).expect("a supported kernel");
            best = best.min(t.elapsed());
            if round >= 5 && Instant::now() > deadline {
                break;
            }
        }
        best.as_nanos() as f64 / nonces as f64
    }

    fn figure(figures: &[Figure], name: &str) -> Option<f64> {
        figures.iter().find(|f| f.name == name).map(|f| f.value)
    }

    /// One row of the accounting.
    pub struct Row {
        pub kernel: &'static str,
        pub alu_per_nonce: f64,
        pub rotates_per_nonce: f64,
        pub sha_rounds_per_nonce: f64,
        pub copies_per_nonce: f64,
        pub memory_per_nonce: f64,
        pub bound: f64,
        pub measured: f64,
        pub mhs: f64,
    }

    pub fn rows(ghz: f64, figures: &[Figure], only: &[String]) -> Vec<Result<Row, String>> {
        let mut out = Vec::new();
        for l in LOOPS {
            if !l.kernel.is_supported()
                || !(only.is_empty() || only.iter().any(|k| k == l.kernel.name()))
            {
                continue;
            }
            let ops = match loop_ops(l.symbol, l.whole) {
                Ok(ops) => ops,
                Err(e) => {
                    out.push(Err(format!("{}: {e}", l.kernel.name())));
                    continue;
                }
            };
            let (mix, rotate) = match l.width {
                Width::Zmm => ("kernel mix zmm (5 rot, 4 add, 3 ternlog)", "vprold zmm"),
                Width::Ymm if figure(figures, "vprold ymm").is_some() => {
                    ("kernel mix ymm (5 rot, 4 add, 3 ternlog)", "vpsrld ymm")
                }
                Width::Ymm | Width::Xmm => ("vpaddd ymm", "vpsrld ymm"),
            };
            let n = l.kernel.lanes() as f64;
            let mut bound = 0f64;
            if let Some(tp) = figure(figures, mix) {
                bound = bound.max(ops.alu as f64 / tp);
            }
            if let Some(tp) = figure(figures, rotate) {
                bound = bound.max(ops.rotates_and_shifts as f64 / tp);
            }
            if let Some(tp) = figure(figures, "sha256rnds2") {
                bound = bound.max(ops.sha_rounds as f64 / tp);
            }
            if let Some(tp) = figure(figures, "sha256rnds2, msg1, msg2 mix (2:1:1)") {
                bound = bound.max((ops.sha_rounds + ops.sha_messages) as f64 / tp);
            }
            if ops.sha_rounds > 0 {
                // The plain vector ops beside the SHA ops share their pipes.
                if let Some(tp) = figure(figures, "SHA-NI kernel mix (8 rnds2, 6 msg, 14 others)") {
                    bound = bound.max(ops.alu as f64 / tp);
                }
            }
            let ns = ns_per_nonce(l.kernel, 1 << 18);
            out.push(Ok(Row {
                kernel: l.kernel.name(),
                alu_per_nonce: ops.alu as f64 / n,
                rotates_per_nonce: ops.rotates_and_shifts as f64 / n,
                sha_rounds_per_nonce: ops.sha_rounds as f64 / n,
                copies_per_nonce: ops.copies as f64 / n,
                memory_per_nonce: ops.memory as f64 / n,
                bound: bound / n,
                measured: ns * ghz,
                mhs: 1e3 / ns,
            }));
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let ports_only = args.iter().any(|a| a == "--ports");
    let only: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--kernel")
        .map(|w| w[1].clone())
        .collect();
    let (ghz, figures) = ports::measure();
    if json {
        let items: Vec<String> = figures
            .iter()
            .map(|f| {
                format!(
                    "{{\"name\":\"{}\",\"value\":{:.3},\"unit\":\"{}\"}}",
                    f.name, f.value, f.unit
                )
            })
            .collect();
        println!(
            "{{\"type\":\"ports\",\"clock_ghz\":{ghz:.3},\"figures\":[{}]}}",
            items.join(",")
        );
    } else {
        println!("core clock (dependent add chain): {ghz:.2} GHz");
        for f in &figures {
            println!("  {:<44} {:>6.2} {}", f.name, f.value, f.unit);
        }
    }
    if ports_only {
        return;
    }
    if !json {
        println!();
        println!(
            "{:<18} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>9} {:>6} {:>7}",
            "kernel",
            "ALU/n",
            "rot/n",
            "rnds2/n",
            "copy/n",
            "mem/n",
            "bound c/n",
            "meas c/n",
            "ratio",
            "MH/s"
        );
    }
    for row in accounting::rows(ghz, &figures, &only) {
        match row {
            Ok(r) if json => println!(
                "{{\"type\":\"kernel\",\"kernel\":\"{}\",\"alu_per_nonce\":{:.2},\"rotates_per_nonce\":{:.2},\"sha_rounds_per_nonce\":{:.2},\"copies_per_nonce\":{:.2},\"memory_per_nonce\":{:.2},\"bound_cycles_per_nonce\":{:.2},\"cycles_per_nonce\":{:.2},\"ratio\":{:.3},\"mhs_one_thread\":{:.2},\"clock_ghz\":{ghz:.3}}}",
                r.kernel, r.alu_per_nonce, r.rotates_per_nonce, r.sha_rounds_per_nonce, r.copies_per_nonce,
                r.memory_per_nonce, r.bound, r.measured, r.bound / r.measured, r.mhs
            ),
            Ok(r) => println!(
                "{:<18} {:>8.1} {:>8.1} {:>7.1} {:>7.1} {:>7.1} {:>9.1} {:>9.1} {:>5.0}% {:>7.2}",
                r.kernel, r.alu_per_nonce, r.rotates_per_nonce, r.sha_rounds_per_nonce, r.copies_per_nonce,
                r.memory_per_nonce, r.bound, r.measured, 100.0 * r.bound / r.measured, r.mhs
            ),
            Err(e) if json => println!("{{\"type\":\"error\",\"error\":{e:?}}}"),
            Err(e) => println!("{e}"),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("cpu_cycles measures x86-64 kernels; this is another architecture");
    std::process::exit(2);
}
