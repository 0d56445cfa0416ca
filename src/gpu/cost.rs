//! What a nonce costs: the integer operations per nonce of the header
//! kernel as a Vulkan driver receives it (naga's SPIR-V), by kind, beside
//! the fewest that SHA-256d needs with the same precomputation, and a model
//! that turns an operation count into an expected rate from a GPU's
//! integer throughput. Everything here is computed, nothing measured: the
//! same shader gives the same report on every machine.

use std::collections::HashMap;

use crate::sha256::IV;
use crate::Error;

/// Integer operations by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Additions and subtractions.
    pub add: u32,
    /// And, or, xor, not.
    pub logic: u32,
    /// Shifts (a rotate is two shifts and an or in SPIR-V, which has none).
    pub shift: u32,
    /// Integer comparisons and boolean logic.
    pub compare: u32,
    /// Other arithmetic: select, multiply, min/max, bit-field operations.
    pub other: u32,
    /// Loads, stores, access chains and composite construction and
    /// extraction: data movement that a driver mostly turns into registers.
    pub data: u32,
    /// Branches and phis.
    pub control: u32,
    /// Atomic operations.
    pub atomic: u32,
}

impl OpCounts {
    /// Additions, logic and shifts: the work of SHA-256 itself.
    pub fn alu(&self) -> u32 {
        self.add + self.logic + self.shift
    }

    /// Every counted operation.
    pub fn total(&self) -> u32 {
        self.alu() + self.compare + self.other + self.data + self.control + self.atomic
    }

    fn add_all(&mut self, other: &OpCounts) {
        self.add += other.add;
        self.logic += other.logic;
        self.shift += other.shift;
        self.compare += other.compare;
        self.other += other.other;
        self.data += other.data;
        self.control += other.control;
        self.atomic += other.atomic;
    }

    /// Counts one SPIR-V instruction, if it is an operation: labels, merge
    /// annotations, declarations, calls and returns are not (they are gone
    /// once a driver inlines the functions).
    fn count(&mut self, opcode: u32) {
        let slot = match opcode {
            128 | 130 => &mut self.add,
            197..=200 => &mut self.logic,
            194..=196 => &mut self.shift,
            164..=168 | 170..=179 => &mut self.compare,
            12 | 124 | 126 | 132..=141 | 169 | 201..=205 => &mut self.other,
            59 | 61 | 62 | 65 | 66 | 80..=83 => &mut self.data,
            245 | 249..=251 => &mut self.control,
            op if is_atomic(op) => &mut self.atomic,
            _ => return,
        };
        *slot += 1;
    }
}

/// The header kernel's SPIR-V, counted.
#[derive(Clone, Debug)]
pub struct SpirvCost {
    /// Operations every nonce runs (the nonce loop without the candidate
    /// branch), with every call expanded.
    pub per_nonce: OpCounts,
    /// Operations of the candidate branch, run only for a nonce whose
    /// hash passes the early exit.
    pub candidate: OpCounts,
    /// Each function called from the nonce loop: its name, calls per nonce
    /// and the operations of one call (its own and its callees').
    pub functions: Vec<(String, u32, OpCounts)>,
    /// SPIR-V words of the whole module.
    pub words: usize,
}

impl SpirvCost {
    /// Rotates per nonce (calls of the shader's `rotr`).
    pub fn rotates(&self) -> u32 {
        self.functions
            .iter()
            .filter(|(name, _, _)| name == "rotr")
            .map(|(_, n, _)| *n)
            .sum()
    }
}

/// One parsed instruction.
struct Inst<'a> {
    opcode: u32,
    operands: &'a [u32],
}

fn parse(words: &[u32]) -> Result<Vec<Inst<'_>>, Error> {
    let bad = |why: &str| Error::Device(format!("SPIR-V: {why}"));
    if words.len() < 5 || words[0] != 0x0723_0203 {
        return Err(bad("no SPIR-V header"));
    }
    let mut out = Vec::new();
    let mut at = 5;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        if count == 0 || at + count > words.len() {
            return Err(bad("truncated instruction"));
        }
        out.push(Inst {
            opcode: words[at] & 0xffff,
            operands: &words[at + 1..at + count],
        });
        at += count;
    }
    Ok(out)
}

/// A literal string operand (nul-terminated, little-endian words).
fn literal_string(words: &[u32]) -> String {
    let bytes: Vec<u8> = words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

const OP_NAME: u32 = 5;
const OP_ENTRY_POINT: u32 = 15;
const OP_FUNCTION: u32 = 54;
const OP_FUNCTION_END: u32 = 56;
const OP_FUNCTION_CALL: u32 = 57;
const OP_LOOP_MERGE: u32 = 246;
const OP_SELECTION_MERGE: u32 = 247;
const OP_LABEL: u32 = 248;
const OP_BRANCH: u32 = 249;
const OP_BRANCH_CONDITIONAL: u32 = 250;

/// OpAtomicLoad ..= OpAtomicXor.
fn is_atomic(opcode: u32) -> bool {
    (227..=242).contains(&opcode)
}

/// The module's functions: id → instruction index range.
fn functions(insts: &[Inst]) -> HashMap<u32, std::ops::Range<usize>> {
    let mut out = HashMap::new();
    let mut open: Option<(u32, usize)> = None;
    for (i, inst) in insts.iter().enumerate() {
        match inst.opcode {
            OP_FUNCTION => open = Some((inst.operands[1], i)),
            OP_FUNCTION_END => {
                if let Some((id, start)) = open.take() {
                    out.insert(id, start..i);
                }
            }
            _ => {}
        }
    }
    out
}

/// Counts `span`, expanding calls with their callees' inclusive counts and
/// noting how often each function is called.
fn count_span(
    insts: &[Inst],
    span: impl Iterator<Item = usize>,
    funcs: &HashMap<u32, std::ops::Range<usize>>,
    calls: &mut HashMap<u32, u32>,
    top: bool,
) -> OpCounts {
    let mut counts = OpCounts::default();
    for i in span {
        let inst = &insts[i];
        if inst.opcode == OP_FUNCTION_CALL {
            let callee = inst.operands[2];
            *calls.entry(callee).or_default() += 1;
            if let Some(range) = funcs.get(&callee) {
                let inner = count_span(insts, range.clone(), funcs, calls, false);
                counts.add_all(&inner);
            }
        } else if inst.opcode == OP_BRANCH && !top {
            // A called function's jump from its prologue block to its
            // body: gone once the driver inlines it.
        } else {
            counts.count(inst.opcode);
        }
    }
    counts
}

/// Translates the built-in kernel to SPIR-V as wgpu's Vulkan backend does
/// (naga, `WORKGROUP_SIZE` resolved) and counts the nonce loop of
/// `search_header`.
pub fn header_kernel_spirv() -> Result<SpirvCost, Error> {
    let err = |e: String| Error::Device(format!("shader translation: {e}"));
    let module = naga::front::wgsl::parse_str(super::shader::SHADER_SOURCE)
        .map_err(|e| err(e.message().to_string()))?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| err(e.to_string()))?;
    let mut constants = naga::back::PipelineConstants::default();
    constants.insert("WORKGROUP_SIZE".to_string(), super::WORKGROUP_SIZE as f64);
    let entry = "search_header";
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, entry)),
        &constants,
    )
    .map_err(|e| err(e.to_string()))?;
    let pipeline = naga::back::spv::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: entry.to_string(),
    };
    // As wgpu writes it for the kernel `GpuDevice::open` builds: runtime
    // checks off; with debug names in every build, so that the report is
    // the same from a debug and a release build.
    let options = naga::back::spv::Options {
        flags: naga::back::spv::WriterFlags::DEBUG,
        force_loop_bounding: false,
        bounds_check_policies: naga::proc::BoundsCheckPolicies {
            index: naga::proc::BoundsCheckPolicy::Unchecked,
            buffer: naga::proc::BoundsCheckPolicy::Unchecked,
            image_load: naga::proc::BoundsCheckPolicy::Unchecked,
            binding_array: naga::proc::BoundsCheckPolicy::Unchecked,
        },
        ..Default::default()
    };
    let words = naga::back::spv::write_vec(&module, &info, &options, Some(&pipeline))
        .map_err(|e| err(e.to_string()))?;
    count_header_loop(&words)
}

fn count_header_loop(words: &[u32]) -> Result<SpirvCost, Error> {
    let bad = |why: &str| Error::Device(format!("SPIR-V: {why}"));
    let insts = parse(words)?;
    let funcs = functions(&insts);
    let names: HashMap<u32, String> = insts
        .iter()
        .filter(|i| i.opcode == OP_NAME && i.operands.len() > 1)
        .map(|i| (i.operands[0], literal_string(&i.operands[1..])))
        .collect();
    let entry = insts
        .iter()
        .find(|i| i.opcode == OP_ENTRY_POINT && literal_string(&i.operands[2..]) == "search_header")
        .map(|i| i.operands[1])
        .ok_or_else(|| bad("no search_header entry point"))?;
    let body = funcs
        .get(&entry)
        .ok_or_else(|| bad("no entry function"))?
        .clone();
    let label_at = |id: u32| {
        body.clone()
            .find(|&i| insts[i].opcode == OP_LABEL && insts[i].operands[0] == id)
    };
    // The nonce loop: from its header block's label to its merge block's.
    let merge_at = body
        .clone()
        .find(|&i| insts[i].opcode == OP_LOOP_MERGE)
        .ok_or_else(|| bad("no loop"))?;
    let start = (body.start..merge_at)
        .rev()
        .find(|&i| insts[i].opcode == OP_LABEL)
        .ok_or_else(|| bad("loop without a header block"))?;
    let end = label_at(insts[merge_at].operands[0]).ok_or_else(|| bad("no loop merge block"))?;
    // The candidate branch: the first selection in the loop whose taken
    // side holds an atomic operation.
    let mut candidate = 0..0;
    for i in start..end {
        if insts[i].opcode != OP_SELECTION_MERGE {
            continue;
        }
        let branch = &insts[i + 1];
        if branch.opcode != OP_BRANCH_CONDITIONAL {
            continue;
        }
        let (Some(taken), Some(merge)) =
            (label_at(branch.operands[1]), label_at(insts[i].operands[0]))
        else {
            continue;
        };
        if taken < merge && (taken..merge).any(|j| is_atomic(insts[j].opcode)) {
            candidate = taken..merge;
            break;
        }
    }
    if candidate.is_empty() {
        return Err(bad("no candidate branch in the nonce loop"));
    }
    let mut calls = HashMap::new();
    let per_nonce = count_span(
        &insts,
        (start..end).filter(|i| !candidate.contains(i)),
        &funcs,
        &mut calls,
        true,
    );
    let candidate_ops = count_span(&insts, candidate, &funcs, &mut HashMap::new(), true);
    let mut functions: Vec<(String, u32, OpCounts)> = calls
        .iter()
        .map(|(&id, &n)| {
            let name = names.get(&id).cloned().unwrap_or_else(|| format!("%{id}"));
            let one = funcs.get(&id).map_or_else(OpCounts::default, |r| {
                count_span(&insts, r.clone(), &funcs, &mut HashMap::new(), false)
            });
            (name, n, one)
        })
        .collect();
    functions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(SpirvCost {
        per_nonce,
        candidate: candidate_ops,
        functions,
        words: words.len(),
    })
}

/// How a GPU executes the rotates, the three-input logic and the additions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// A rotate is two shifts and an or; every logic operation and every
    /// addition takes two inputs (what the SPIR-V says, op for op).
    Portable,
    /// NVIDIA since Maxwell: a rotate is one funnel shift (SHF), any
    /// function of three inputs is one LOP3 (Σ's two xors, Ch, Maj), and
    /// IADD3 adds three inputs at once.
    Nvidia,
}

/// A value in the minimum's count: known when the job or the constants
/// fix it, unknown when it depends on the nonce.
#[derive(Clone, Copy)]
enum Word {
    Known(u32),
    Nonce,
}

/// The fewest operations SHA-256d of a header needs per nonce with the
/// precomputation hashrig's kernel uses, counted from FIPS 180-4 directly
/// (not from the kernel): the first 64 bytes as a midstate, rounds 0..2 of
/// the second block (which the nonce does not reach) done once per job,
/// every operation on known words folded, and the early exit (only H7 of
/// the second hash: its rounds 61..63 and the `a` of rounds 57..60 are
/// never needed). Round 3 is two additions of the nonce to values the job
/// fixes. Maj costs two operations where the previous round's a ^ b is
/// reused. The nonce's byte swap and the compare with the target are left
/// out (they are the same in every kernel).
pub fn minimum_header_ops(isa: Isa) -> OpCounts {
    let mut c = OpCounts::default();
    let nvidia = isa == Isa::Nvidia;
    // Additions of n unknown terms and maybe a known one.
    let add = |c: &mut OpCounts, unknown: u32, known: bool| {
        let inputs = unknown + known as u32;
        if unknown > 0 && inputs > 1 {
            c.add += if nvidia {
                (inputs - 1).div_ceil(2)
            } else {
                inputs - 1
            };
        }
    };
    // Σ or σ of an unknown word: three rotates (or two and a shift), two xors.
    let sigma = |c: &mut OpCounts, rotates: u32| {
        if nvidia {
            c.shift += 3;
            c.logic += 1;
        } else {
            c.shift += 2 * rotates + (3 - rotates);
            c.logic += rotates + 2;
        }
    };
    let unknown = |w: &Word| matches!(w, Word::Nonce);
    // Rounds `from..=to` of one compression over `w`, from state `s`;
    // `a` is needed only through `a_until`.
    let rounds = |c: &mut OpCounts,
                  s: &mut [Word; 8],
                  w: &[Word],
                  from: usize,
                  to: usize,
                  a_until: usize| {
        for (t, wt) in w.iter().enumerate().take(to + 1).skip(from) {
            let [a, b, cc, d, e, f, g, h] = *s;
            let e_var = unknown(&e);
            if e_var {
                sigma(c, 3);
            }
            // Ch(e, f, g) = g ^ (e & (f ^ g)): three logic ops, fewer when
            // inputs are known; one LOP3 on NVIDIA.
            let ch_var = unknown(&e) || unknown(&f) || unknown(&g);
            if ch_var {
                c.logic += if nvidia {
                    1
                } else {
                    [
                        unknown(&f) || unknown(&g),
                        unknown(&e) || unknown(&f) || unknown(&g),
                        true,
                    ]
                    .iter()
                    .filter(|&&x| x)
                    .count() as u32
                };
            }
            // T1 = h + Σ1(e) + Ch + (K + W).
            let t1_unknown = unknown(&h) as u32 + e_var as u32 + ch_var as u32 + unknown(wt) as u32;
            add(c, t1_unknown, true);
            let t1_var = t1_unknown > 0;
            // e' = d + T1.
            add(
                c,
                unknown(&d) as u32 + t1_var as u32,
                !unknown(&d) || !t1_var,
            );
            let new_e = if t1_var || unknown(&d) {
                Word::Nonce
            } else {
                Word::Known(0)
            };
            let new_a = if t <= a_until {
                let a_var = unknown(&a);
                if a_var {
                    sigma(c, 3);
                }
                let maj_var = unknown(&a) || unknown(&b) || unknown(&cc);
                if maj_var {
                    // a ^ b, then b ^ ((a ^ b) & (b ^ c)) with b ^ c kept
                    // from the previous round; one LOP3 on NVIDIA.
                    c.logic += if nvidia { 1 } else { 3 };
                }
                let terms = t1_var as u32 + a_var as u32 + maj_var as u32;
                add(c, terms, false);
                if terms > 0 {
                    Word::Nonce
                } else {
                    Word::Known(0)
                }
            } else {
                Word::Known(0)
            };
            *s = [new_a, a, b, cc, new_e, e, f, g];
        }
    };
    // The message schedule: W[16..=last].
    let schedule = |c: &mut OpCounts, w: &mut Vec<Word>, last: usize| {
        for t in w.len()..=last {
            let (w2, w7, w15, w16) = (w[t - 2], w[t - 7], w[t - 15], w[t - 16]);
            let mut unknowns = 0;
            let mut known = false;
            for (word, small) in [(w2, true), (w7, false), (w15, true), (w16, false)] {
                match word {
                    Word::Nonce => {
                        if small {
                            sigma(c, 2);
                        }
                        unknowns += 1;
                    }
                    Word::Known(v) => known |= v != 0,
                }
            }
            add(c, unknowns, known);
            w.push(if unknowns > 0 {
                Word::Nonce
            } else {
                Word::Known(1)
            });
        }
    };
    // First hash, second block: W0..W2 from the header, W3 the nonce,
    // then the padding (0x80000000, zeros, the length 640).
    let mut w: Vec<Word> = vec![Word::Known(1), Word::Known(1), Word::Known(1), Word::Nonce];
    w.push(Word::Known(0x8000_0000));
    w.extend(std::iter::repeat_n(Word::Known(0), 10));
    w.push(Word::Known(640));
    schedule(&mut c, &mut w, 63);
    // Round 3: a and e are the nonce plus values fixed per job.
    c.add += 2;
    let mut s = [
        Word::Nonce,
        Word::Known(1),
        Word::Known(1),
        Word::Known(1),
        Word::Nonce,
        Word::Known(1),
        Word::Known(1),
        Word::Known(1),
    ];
    rounds(&mut c, &mut s, &w, 4, 63, 63);
    // The digest (state + midstate) is the second hash's message.
    c.add += 8;
    let mut w: Vec<Word> = vec![Word::Nonce; 8];
    w.push(Word::Known(0x8000_0000));
    w.extend(std::iter::repeat_n(Word::Known(0), 6));
    w.push(Word::Known(256));
    schedule(&mut c, &mut w, 60);
    let mut s = IV.map(Word::Known);
    rounds(&mut c, &mut s, &w, 0, 60, 56);
    // H7 = e60 + IV[7].
    c.add += 1;
    c
}

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

/// The kernel's add, logic and shift operations per nonce under `isa`:
/// the SPIR-V's, less the `32 - n` of every rotate (folded once `rotr` is
/// inlined with its constant); for [`Isa::Nvidia`] each kind then shrinks
/// by the same ratio as the minimum's does (rotates to funnel shifts,
/// xor chains, Ch and Maj to LOP3, additions to IADD3).
pub fn kernel_ops_under(cost: &SpirvCost, isa: Isa) -> OpCounts {
    let rotates = cost.rotates();
    let portable = OpCounts {
        add: cost.per_nonce.add.saturating_sub(rotates),
        logic: cost.per_nonce.logic,
        shift: cost.per_nonce.shift,
        ..Default::default()
    };
    match isa {
        Isa::Portable => portable,
        Isa::Nvidia => {
            let (p, n) = (
                minimum_header_ops(Isa::Portable),
                minimum_header_ops(Isa::Nvidia),
            );
            let scale = |k: u32, n: u32, p: u32| (k as f64 * n as f64 / p as f64).round() as u32;
            OpCounts {
                add: scale(portable.add, n.add, p.add),
                logic: scale(portable.logic, n.logic, p.logic),
                shift: scale(portable.shift, n.shift, p.shift),
                ..Default::default()
            }
        }
    }
}

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
         file equal to its output. Operations per nonce of `search_header` as naga \
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
