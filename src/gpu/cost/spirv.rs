//! The header kernel's operations per nonce as a Vulkan driver receives
//! them: naga's SPIR-V of the WGSL shader, parsed and counted over the
//! nonce loop (calls followed into their functions).

use crate::DeviceError;
use std::collections::HashMap;

use super::counts::{is_atomic, OpCounts};
use crate::gpu::KernelForm;
use crate::Error;

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
    let bad = |why: &str| Error::Device(DeviceError::Spirv(why.to_string()));
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

/// `entry_point` of the built-in kernel in `form`, translated to SPIR-V as
/// wgpu's Vulkan backend translates it for [`GpuDevice::open`]
/// (naga, `WORKGROUP_SIZE` resolved, runtime checks off), in SPIR-V
/// `version` (wgpu writes 1.6 for a Vulkan 1.3 device, 1.5 for 1.2, 1.3
/// for 1.1, 1.0 below). With debug names in every build, so that what is
/// counted is the same from a debug and a release build.
///
/// [`GpuDevice::open`]: crate::gpu::GpuDevice::open
pub fn kernel_spirv(
    form: KernelForm,
    entry_point: &str,
    workgroup_size: u32,
    version: (u8, u8),
) -> Result<Vec<u32>, Error> {
    let err = |e: String| Error::Device(DeviceError::Translation(e));
    let module =
        naga::front::wgsl::parse_str(form.source()).map_err(|e| err(e.message().to_string()))?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| err(e.to_string()))?;
    let mut constants = naga::back::PipelineConstants::default();
    constants.insert("WORKGROUP_SIZE".to_string(), workgroup_size as f64);
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, entry_point)),
        &constants,
    )
    .map_err(|e| err(chain(&e)))?;
    let pipeline = naga::back::spv::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: entry_point.to_string(),
    };
    let options = naga::back::spv::Options {
        lang_version: version,
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
    naga::back::spv::write_vec(&module, &info, &options, Some(&pipeline))
        .map_err(|e| err(e.to_string()))
}

/// An error with its causes, for a message that says where.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Translates the built-in kernel in `form` to SPIR-V as wgpu's Vulkan
/// backend does and counts the nonce loop of `search_header`.
pub fn header_kernel_spirv_of(form: KernelForm) -> Result<SpirvCost, Error> {
    let words = kernel_spirv(
        form,
        "search_header",
        crate::gpu::shader::WORKGROUP_SIZE,
        (1, 0),
    )?;
    count_header_loop(&words)
}

/// [`header_kernel_spirv_of`] the constant-rotates form.
pub fn header_kernel_spirv() -> Result<SpirvCost, Error> {
    header_kernel_spirv_of(KernelForm::ConstantRotates)
}

fn count_header_loop(words: &[u32]) -> Result<SpirvCost, Error> {
    let bad = |why: &str| Error::Device(DeviceError::Spirv(why.to_string()));
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
