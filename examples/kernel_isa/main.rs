//! The kernel as real GPU compilers make it, on a machine with no GPU:
//! each kernel form's SPIR-V (as wgpu writes it) is compiled by the
//! drivers' own compilers and their listings are counted against the
//! instruction minimum of `hashrig::gpu::cost`.
//!
//! - AMD's ACO and RADV's LLVM backend, through RADV's null device (the
//!   system's Mesa 22.3, a Mesa 25 with `--mesa-root` or `--icd`) or
//!   Mesa 26's amdgpu no-op kernel driver (mesa-drm-shim);
//! - NVIDIA's NAK (NVK) and Apple's Asahi compiler, through Mesa 26's
//!   nouveau and asahi no-op kernel drivers.
//!
//! Every compile runs in a child process (this program with `--compile`)
//! under the installation's environment, and under its own dynamic
//! loader where an unpacked root carries its glibc. `.ci/unpack-mesa`
//! unpacks Debian's Mesa 25 (bookworm-backports) and 26 (sid).
//!
//! Try: `cargo run --release --example kernel_isa -- [--json] [--check]
//! [--mesa-root DIR]... [--icd FILE]...`
//!
//! `--check` exits 1 when the form calibration starts from on a vendor
//! is further from the minimum than the bounds in docs/KERNEL-COST.md.

mod parse;
mod plan;
mod vulkan;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hashrig::gpu::cost::{self, Isa};
use hashrig::gpu::shader::ENTRY_POINTS;
use hashrig::gpu::KernelForm;
use plan::{Compiler, Target};

/// The workgroup size the report compiles with (the kernel's default).
const WORKGROUP_SIZE: u32 = 64;

/// One compile's result.
struct Row {
    target: String,
    compiler: Compiler,
    family: &'static str,
    chip: String,
    device: String,
    mesa: String,
    form: KernelForm,
    entry: &'static str,
    default: bool,
    counts: parse::Counts,
    minimum: Option<u32>,
    spirv_alu: Option<u32>,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        self.minimum
            .map(|m| f64::from(self.counts.valu) / f64::from(m))
    }

    fn json(&self) -> String {
        let classes: Vec<String> = self
            .counts
            .classes
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        let opt = |v: Option<u32>| v.map_or("null".into(), |v| v.to_string());
        format!(
            "{{\"variant\":\"{}\",\"entry\":\"{}\",\"family\":\"{}\",\"chip\":\"{}\",\"device\":{:?},\
             \"compiler\":\"{}\",\"mesa\":\"{}\",\"installation\":{:?},\"valu_per_nonce\":{},\"per\":\"{}\",\
             \"minimum\":{},\"ratio\":{},\"alu_cycles\":{},\"spirv_alu\":{},\"default\":{},\"classes\":{{{}}}}}",
            self.form,
            self.entry,
            self.family,
            self.chip,
            self.device,
            self.compiler.name(),
            self.mesa,
            self.target,
            self.counts.valu,
            self.per(),
            opt(self.minimum),
            self.ratio().map_or("null".into(), |r| format!("{r:.3}")),
            opt(self.counts.alu_cycles),
            opt(self.spirv_alu),
            self.default,
            classes.join(",")
        )
    }

    /// What one count covers.
    fn per(&self) -> &'static str {
        match (self.compiler, self.entry) {
            (Compiler::Agx, _) => "shader",
            (_, "search_header") => "nonce",
            _ => "block",
        }
    }
}

/// A target that could not be compiled for, and why.
struct Missing {
    what: String,
    reason: String,
}

struct Args {
    json: bool,
    check: bool,
    icds: Vec<PathBuf>,
    roots: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        json: false,
        check: false,
        icds: Vec::new(),
        roots: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => args.json = true,
            "--check" => args.check = true,
            "--icd" => args
                .icds
                .push(it.next().ok_or("--icd needs a file")?.into()),
            "--mesa-root" => args
                .roots
                .push(it.next().ok_or("--mesa-root needs a folder")?.into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// The child: `--probe` or `--compile FORM ENTRY` on the driver the
/// environment names. Prints `device<TAB>vendor<TAB>driver<TAB>name<TAB>info`.
fn child(args: &[String]) -> i32 {
    let run = || -> Result<(), String> {
        let (api, driver) = vulkan::probe()?;
        println!(
            "device\t{:#06x}\t{}\t{}\t{}",
            driver.vendor, driver.name, driver.device, driver.info
        );
        if args[0] == "--compile" {
            let form: KernelForm = args
                .get(1)
                .ok_or("no form")?
                .parse()
                .map_err(|e| format!("{e}"))?;
            let entry = args.get(2).ok_or("no entry point")?;
            let spirv = cost::kernel_spirv(form, entry, WORKGROUP_SIZE, vulkan::spirv_version(api))
                .map_err(|e| e.to_string())?;
            vulkan::compile(&spirv, entry)?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kernel_isa: {e}");
            1
        }
    }
}

/// A child's whole output (stdout then stderr) and whether it succeeded.
fn run_child(target: &Target, chip: &str, args: &[&str], scratch: &Path) -> (bool, String) {
    let exe = std::env::current_exe().expect("own path");
    match target.command(&exe, args, chip, scratch).output() {
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            (out.status.success(), text)
        }
        Err(e) => (false, format!("cannot start: {e}")),
    }
}

/// The last line the driver or the child printed about a failure.
fn reason(output: &str) -> String {
    let lines = || output.lines().rev().filter(|l| !l.trim().is_empty());
    lines()
        .find(|l| l.contains("rror") || l.contains("kernel_isa:"))
        .or_else(|| lines().next())
        .unwrap_or("no output")
        .chars()
        .take(200)
        .collect()
}

/// The chip name this driver accepts, and its `device` line.
fn probe(target: &Target, scratch: &Path) -> Result<(String, Vec<String>), String> {
    let mut last = String::new();
    for chip in target.chips {
        let (ok, out) = run_child(target, chip, &["--probe"], scratch);
        let device = out.lines().find_map(|l| l.strip_prefix("device\t"));
        match device {
            Some(d) if ok => {
                return Ok((chip.to_string(), d.split('\t').map(String::from).collect()))
            }
            _ => last = reason(&out),
        }
    }
    Err(last)
}

/// The minimum for `entry` under the family's ISA, where a model exists.
/// A generic block is compiled with the pipeline constants' default nonce
/// place (word 0, byte 0): its words 0 and 1 differ from nonce to nonce,
/// and it starts from the job's midstate.
fn minimum(compiler: Compiler, family: &str, entry: &str) -> Option<u32> {
    let isa = match compiler {
        Compiler::Aco | Compiler::RadvLlvm if family.starts_with("CDNA") => Isa::GFX9,
        Compiler::Aco | Compiler::RadvLlvm => Isa::RDNA,
        Compiler::Nak => Isa::Nvidia,
        Compiler::Agx => return None,
    };
    Some(if entry == "search_header" {
        cost::minimum_header_ops(isa).alu()
    } else {
        cost::minimum_compression_ops(isa, std::array::from_fn(|i| i < 2), false).alu()
    })
}

/// "Mesa 25.0.7-2~bpo12+1" → "25.0.7".
fn mesa_version(info: &str) -> String {
    info.split_whitespace()
        .skip_while(|w| *w != "Mesa")
        .nth(1)
        .map(|v| v.split('-').next().unwrap_or(v).to_string())
        .unwrap_or_else(|| info.to_string())
}

fn compile_all(targets: Vec<Target>, scratch: &Path) -> (Vec<Row>, Vec<Missing>) {
    let rows = Mutex::new(Vec::new());
    let missing = Mutex::new(Vec::new());
    // Each target's chip first (cheap), then every compile in parallel.
    let mut work = Vec::new();
    for t in targets {
        let what = format!("{} {} ({})", t.compiler.name(), t.family, t.install.origin);
        match probe(&t, scratch) {
            Ok((chip, device)) => {
                for form in KernelForm::ALL {
                    for entry in ENTRY_POINTS {
                        work.push((t.clone(), chip.clone(), device.clone(), form, entry));
                    }
                }
            }
            Err(reason) => missing.lock().unwrap().push(Missing { what, reason }),
        }
    }
    // Each form's SPIR-V count, the same for every target: counted once.
    let header_spirv: Vec<(KernelForm, Option<u32>)> = KernelForm::ALL
        .into_iter()
        .map(|form| {
            let cost = cost::header_kernel_spirv_of(form).ok();
            (
                form,
                cost.map(|c| cost::kernel_ops_under(&c, Isa::Portable).alu()),
            )
        })
        .collect();
    let header_spirv = &header_spirv;
    let queue = Mutex::new(work.into_iter());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some((t, chip, device, form, entry)) = queue.lock().unwrap().next() else {
                    return;
                };
                let what = format!(
                    "{} {} {entry} {form} ({})",
                    t.compiler.name(),
                    t.family,
                    t.install.origin
                );
                let (ok, out) = run_child(&t, &chip, &["--compile", form.name(), entry], scratch);
                let parsed = match t.compiler {
                    _ if !ok => Err(reason(&out)),
                    Compiler::RadvLlvm if out.contains("ACO shader stage") => {
                        Err("this RADV compiles with ACO only (RADV_DEBUG=llvm ignored)".into())
                    }
                    Compiler::Aco | Compiler::RadvLlvm => parse::amd(&out),
                    Compiler::Nak => parse::nak(&out),
                    Compiler::Agx => parse::agx(&out),
                };
                match parsed {
                    Ok(counts) => {
                        let vendor = u32::from_str_radix(device[0].trim_start_matches("0x"), 16)
                            .unwrap_or(0);
                        let spirv_alu = (entry == "search_header")
                            .then(|| header_spirv.iter().find(|(f, _)| *f == form))
                            .flatten()
                            .and_then(|(_, alu)| *alu);
                        rows.lock().unwrap().push(Row {
                            target: t.install.origin.clone(),
                            compiler: t.compiler,
                            family: t.family,
                            chip: chip.clone(),
                            device: device.get(2).cloned().unwrap_or_default(),
                            mesa: mesa_version(device.get(3).map_or("", String::as_str)),
                            form,
                            entry,
                            default: form == KernelForm::preferred(vendor, &device[1]),
                            counts,
                            minimum: minimum(t.compiler, t.family, entry),
                            spirv_alu,
                        });
                    }
                    Err(reason) => missing.lock().unwrap().push(Missing { what, reason }),
                }
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by(|a, b| {
        (&a.target, a.compiler.name(), a.family, a.entry, a.form).cmp(&(
            &b.target,
            b.compiler.name(),
            b.family,
            b.entry,
            b.form,
        ))
    });
    (rows, missing.into_inner().unwrap())
}

/// The bounds the default forms are held to; one line per breach.
fn check(rows: &[Row]) -> Vec<String> {
    let mut breaches = Vec::new();
    for r in rows.iter().filter(|r| r.default) {
        let major: u32 = r
            .mesa
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        // Both kernels are held to their bounds under ACO, RADV's LLVM
        // backend and NAK. The generic block's minimum leaves out placing
        // the nonce (two instructions), and ACO 25 makes no three-register
        // `v_bfi_b32` (Ch and Maj take one instruction more each a round:
        // 128 a block, 9.4% of its minimum): 1.10x holds both kernels to
        // within 0.4% of what ACO 25 can reach on RDNA.
        let header = r.entry == "search_header";
        let bound = match (r.compiler, r.family) {
            (Compiler::Aco, "RDNA3" | "RDNA4") if major >= 26 => Some(1.03),
            (Compiler::Aco, "RDNA3" | "RDNA4") if major >= 25 => Some(1.10),
            (Compiler::Aco, "CDNA2" | "CDNA3") if major >= 25 => Some(1.06),
            (Compiler::RadvLlvm, _) => Some(1.04),
            (Compiler::Nak, _) if header => Some(1.08),
            (Compiler::Nak, _) => Some(1.09),
            _ => None,
        };
        if let (Some(bound), Some(ratio)) = (bound, r.ratio()) {
            if ratio > bound {
                breaches.push(format!(
                    "{} {} Mesa {} {} {}: {} instructions, {ratio:.3}x the minimum {} (bound {bound}x)",
                    r.compiler.name(),
                    r.family,
                    r.mesa,
                    r.entry,
                    r.form,
                    r.counts.valu,
                    r.minimum.unwrap_or(0)
                ));
            }
        }
        // Mesa before 25 turns no rotate into one instruction in either
        // form: what it gets, calibration decides on the device.
        if (r.compiler == Compiler::Agx || !header) && major >= 25 {
            let best = rows
                .iter()
                .filter(|o| {
                    o.compiler == r.compiler
                        && o.family == r.family
                        && o.entry == r.entry
                        && o.target == r.target
                        && o.chip == r.chip
                })
                .map(|o| o.counts.valu)
                .min()
                .unwrap_or(r.counts.valu);
            if r.counts.valu > best {
                breaches.push(format!(
                    "{} {} Mesa {} {}: the default form {} has {} instructions, another form {best}",
                    r.compiler.name(),
                    r.family,
                    r.mesa,
                    r.entry,
                    r.form,
                    r.counts.valu
                ));
            }
        }
    }
    breaches
}

fn print_table(rows: &[Row], missing: &[Missing]) {
    println!(
        "{:<5} {:<7} {:<6} {:<8} {:<14} {:<17} {:>6} {:>6} {:>6}  {:<60}",
        "comp", "mesa", "family", "chip", "entry", "form", "instr", "min", "ratio", "classes"
    );
    for r in rows {
        let classes: Vec<String> = r
            .counts
            .classes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "{:<5} {:<7} {:<6} {:<8} {:<14} {:<17} {:>6} {:>6} {:>6}  {}{}",
            r.compiler.name(),
            r.mesa,
            r.family,
            r.chip,
            r.entry,
            format!("{}{}", r.form, if r.default { "*" } else { "" }),
            r.counts.valu,
            r.minimum.map_or("-".into(), |m| m.to_string()),
            r.ratio().map_or("-".into(), |x| format!("{x:.3}")),
            classes.join(", "),
            r.counts
                .alu_cycles
                .map_or(String::new(), |c| format!("alu cycles {c}")),
        );
    }
    println!("(* the form calibration starts from on that vendor; instructions per nonce for search_header, per message block for search_generic, per whole shader for AGX)");
    for m in missing {
        println!("not run: {}: {}", m.what, m.reason);
    }
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if matches!(
        raw.first().map(String::as_str),
        Some("--compile" | "--probe")
    ) {
        std::process::exit(child(&raw));
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kernel_isa: {e}");
            std::process::exit(2);
        }
    };
    let scratch = std::env::temp_dir().join(format!("hashrig-kernel-isa-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("kernel_isa: {}: {e}", scratch.display());
        std::process::exit(2);
    }
    let mut installs = Vec::new();
    let mut missing = Vec::new();
    installs.extend(plan::system());
    for icd in &args.icds {
        match plan::icd(icd) {
            Ok(i) => installs.push(i),
            Err(reason) => missing.push(Missing {
                what: icd.display().to_string(),
                reason,
            }),
        }
    }
    for root in &args.roots {
        match plan::root(root, &scratch) {
            Ok(i) => installs.push(i),
            Err(reason) => missing.push(Missing {
                what: root.display().to_string(),
                reason,
            }),
        }
    }
    if installs.is_empty() {
        println!(
            "kernel_isa: no RADV is installed (Debian: mesa-vulkan-drivers) and no --icd or \
             --mesa-root was given: nothing to compile with"
        );
        for m in &missing {
            println!("not run: {}: {}", m.what, m.reason);
        }
        let _ = std::fs::remove_dir_all(&scratch);
        return;
    }
    let targets: Vec<Target> = installs.iter().flat_map(plan::targets).collect();
    let (rows, more) = compile_all(targets, &scratch);
    missing.extend(more);
    let _ = std::fs::remove_dir_all(&scratch);
    if args.json {
        for r in &rows {
            println!("{}", r.json());
        }
        for m in &missing {
            println!("{{\"not_run\":{:?},\"reason\":{:?}}}", m.what, m.reason);
        }
    } else {
        print_table(&rows, &missing);
    }
    if args.check {
        let mut breaches = check(&rows);
        // An unpacked Mesa was named to be measured: each of its ACO, NAK
        // and AGX targets must have been (RADV's LLVM backend is missing
        // or fails on some families and is only reported).
        for m in &missing {
            let bounded = ["ACO ", "NAK ", "AGX "]
                .iter()
                .any(|c| m.what.starts_with(c));
            let from_root = args.roots.iter().any(|r| {
                r.canonicalize()
                    .is_ok_and(|r| m.what.contains(&*r.to_string_lossy()))
            });
            if bounded && from_root {
                breaches.push(format!("not compiled: {}: {}", m.what, m.reason));
            }
        }
        for b in &breaches {
            eprintln!("kernel_isa: over the bound: {b}");
        }
        if !breaches.is_empty() {
            std::process::exit(1);
        }
    }
}
