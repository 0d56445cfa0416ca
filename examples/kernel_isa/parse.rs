//! Reading the compilers' own listings: the instructions of the kernel's
//! hash body (the first of the largest basic blocks: the nonce loop's
//! body in `search_header`; in `search_generic` the first message
//! block's compression, which comes before the later blocks' and the
//! second hash's), counted and sorted into classes.

use std::collections::BTreeMap;

/// Instructions of one listing's hash body, by class.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// The body's vector ALU instructions (AMD: `v_*`; NVIDIA and Apple:
    /// every instruction, since they have no separate scalar unit here).
    pub valu: u32,
    /// Instructions by class: `rotate` (one-instruction rotates and
    /// funnel shifts), `bit_select`, `three_input` (xor3, add3, xad,
    /// and_or, lshl_or, LOP3, IADD3), `add`, `logic`, `shift`, `scalar`,
    /// `memory`, `other`.
    pub classes: BTreeMap<&'static str, u32>,
    /// Apple's ALU cycles for the whole shader, where the compiler says.
    pub alu_cycles: Option<u32>,
}

/// The mnemonic of one listing line: the token after `=` in ACO's IR
/// form (`v1: %3:v[0] = v_add3_u32 ...`), else the first token.
fn mnemonic(line: &str) -> Option<&str> {
    let code = line.split(';').next()?.trim();
    if code.is_empty() || code.starts_with("/*") || code.starts_with("//") {
        return None;
    }
    let op = match code.split_once(" = ") {
        Some((_, rhs)) => rhs.split_whitespace().next()?,
        None => code.split_whitespace().next()?,
    };
    op.chars()
        .next()
        .filter(char::is_ascii_lowercase)
        .map(|_| op)
}

/// An AMD instruction's class (ACO's and LLVM's mnemonics).
fn amd_class(op: &str) -> &'static str {
    let base = op.trim_end_matches("_e32").trim_end_matches("_e64");
    if base.starts_with("s_") {
        return "scalar";
    }
    if ["buffer_", "global_", "flat_", "ds_", "scratch_"]
        .iter()
        .any(|p| base.starts_with(p))
    {
        return "memory";
    }
    match base {
        "v_alignbit_b32" | "v_alignbyte_b32" => "rotate",
        "v_bfi_b32" => "bit_select",
        "v_xor3_b32" | "v_add3_u32" | "v_xad_u32" | "v_and_or_b32" | "v_or3_b32"
        | "v_lshl_or_b32" | "v_lshl_add_u32" | "v_add_lshl_u32" => "three_input",
        b if b.starts_with("v_add") || b.starts_with("v_sub") => "add",
        "v_and_b32" | "v_or_b32" | "v_xor_b32" | "v_not_b32" | "v_xnor_b32" => "logic",
        b if b.starts_with("v_lshr") || b.starts_with("v_lshl") || b.starts_with("v_ashr") => {
            "shift"
        }
        _ => "other",
    }
}

/// An NVIDIA instruction's class (NAK's SASS-level names).
fn nak_class(op: &str) -> &'static str {
    let base = op.split('.').next().unwrap_or(op);
    match base {
        "shf" => "rotate",
        "lop3" | "iadd3" => "three_input",
        "ld" | "st" | "ldc" | "atom" | "ldg" | "stg" | "red" => "memory",
        "s2r" | "s2ur" | "r2ur" => "scalar",
        _ => "other",
    }
}

/// ACO's or RADV-LLVM's listing (`RADV_DEBUG=shaders`): the last
/// `disasm:` section (ACO prints its own IR there when it has no
/// disassembler for the chip), blocks named `BB…`.
pub fn amd(listing: &str) -> Result<Counts, String> {
    let at = listing
        .rfind("disasm:")
        .ok_or("the listing has no disassembly (RADV_DEBUG=shaders printed nothing?)")?;
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in listing[at..].lines().skip(1) {
        let label = line.trim_end_matches(':');
        if label.starts_with("BB") && label[2..].chars().all(|c| c.is_ascii_digit() || c == '_') {
            blocks.push(Vec::new());
        } else if line.starts_with('\t') || line.starts_with(' ') {
            if let (Some(block), Some(op)) = (blocks.last_mut(), mnemonic(line)) {
                block.push(op);
            }
        } else if !blocks.is_empty() && !line.trim().is_empty() && !line.starts_with("/*") {
            break;
        }
    }
    let body = first_body(blocks, |b| {
        b.iter().filter(|op| op.starts_with("v_")).count()
    })
    .ok_or("the disassembly has no blocks")?;
    let mut counts = Counts::default();
    for op in body {
        if op == "s_delay_alu" || op == "s_nop" || op.starts_with("s_wait") {
            continue;
        }
        if op.starts_with("v_") {
            counts.valu += 1;
        }
        *counts.classes.entry(amd_class(op)).or_default() += 1;
    }
    Ok(counts)
}

/// The hash body among a listing's blocks: the first, in program order,
/// of those at least three quarters the size of the largest. A whole
/// compression is such a block; `search_generic` has two or three (the
/// first message block's, the later blocks', the second hash's), and the
/// first is the one its minimum describes.
fn first_body<'a>(
    blocks: Vec<Vec<&'a str>>,
    size: impl Fn(&Vec<&'a str>) -> usize,
) -> Option<Vec<&'a str>> {
    let largest = blocks.iter().map(&size).max()?;
    blocks.into_iter().find(|b| 4 * size(b) >= 3 * largest)
}

/// NAK's listing (`NAK_DEBUG=print`): the last "NAK IR after
/// calc_instr_deps" section, the final instructions before encoding.
pub fn nak(listing: &str) -> Result<Counts, String> {
    let marker = "NAK IR after calc_instr_deps:";
    let at = listing
        .rfind(marker)
        .ok_or("the listing has no final NAK IR (NAK_DEBUG=print printed nothing?)")?;
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut open = false;
    for line in listing[at + marker.len()..].lines() {
        if line.starts_with("block") {
            blocks.push(Vec::new());
            open = true;
        } else if line.starts_with('}') {
            open = false;
        } else if open {
            let code = line.split("//").next().unwrap_or("").trim();
            let rhs = code.split_once(" = ").map_or(code, |(_, r)| r);
            // A predicate (`@p0`, `@!p0`) comes before the opcode.
            let op = rhs.split_whitespace().find(|t| !t.starts_with('@'));
            if let (Some(block), Some(op)) = (blocks.last_mut(), op) {
                block.push(op);
            }
        } else if !blocks.is_empty() && !line.trim().is_empty() {
            break;
        }
    }
    let body = first_body(blocks, Vec::len).ok_or("the NAK IR has no blocks")?;
    let mut counts = Counts::default();
    for op in body {
        counts.valu += 1;
        *counts.classes.entry(nak_class(op)).or_default() += 1;
    }
    Ok(counts)
}

/// The Asahi compiler's shader-db line (`AGX_MESA_DEBUG=shaderdb`):
/// `CS shader: 3850 instrs, 4904 alu, ...` for the whole shader.
pub fn agx(listing: &str) -> Result<Counts, String> {
    let line = listing
        .lines()
        .rfind(|l| l.contains("shader:") && l.contains(" instrs"))
        .ok_or("no shader-db line (AGX_MESA_DEBUG=shaderdb printed nothing?)")?;
    let field = |name: &str| {
        line.split(',').find_map(|part| {
            let part = part.rsplit(':').next().unwrap_or(part).trim();
            let (n, what) = part.split_once(' ')?;
            (what == name).then(|| n.parse::<u32>().ok()).flatten()
        })
    };
    let instrs = field("instrs").ok_or("the shader-db line has no instruction count")?;
    Ok(Counts {
        valu: instrs,
        classes: BTreeMap::new(),
        alu_cycles: field("alu"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aco_counts_the_largest_block_and_skips_scheduling_hints() {
        let listing = "\
After RA:
BB0
\t v1: %1:v[0] = v_add_nc_u32 %2, %3
disasm:
BB0:
\ts_load_dwordx4 s[0:3], s[0:1], 0x0                 ; f4080000
\tv_add_nc_u32_e32 v1, s0, v0                         ; 4a020000
BB1:
\tv_alignbit_b32 v2, v1, v1, s4                       ; d6160002
\ts_delay_alu instid0(VALU_DEP_1)                     ; bf870001
\tv_xor3_b32 v3, v2, v1, v0                           ; d6400003
\tv_bfi_b32 v4, v3, v2, v1                            ; d6120004
\tv_add3_u32 v5, v4, v3, 0x428a2f98                   ; d6550005
BB2:
\ts_endpgm                                            ; bfb00000
Compute Shader:
*** SHADER STATS ***
";
        let c = amd(listing).unwrap();
        assert_eq!(c.valu, 4);
        assert_eq!(c.classes["rotate"], 1);
        assert_eq!(c.classes["three_input"], 2);
        assert_eq!(c.classes["bit_select"], 1);
        assert!(!c.classes.contains_key("scalar"));
    }

    #[test]
    fn the_first_of_two_compressions_is_the_body() {
        let listing = "\
disasm:
BB0:
\tv_add_nc_u32_e32 v1, s0, v0                         ; 4a020000
BB1:
\tv_alignbit_b32 v2, v1, v1, s4                       ; d6160002
\tv_xor3_b32 v3, v2, v1, v0                           ; d6400003
\tv_bfi_b32 v4, v3, v2, v1                            ; d6120004
BB2:
\tv_alignbit_b32 v2, v1, v1, s4                       ; d6160002
\tv_xor3_b32 v3, v2, v1, v0                           ; d6400003
\tv_bfi_b32 v4, v3, v2, v1                            ; d6120004
\tv_add3_u32 v5, v4, v3, 0x428a2f98                   ; d6550005
BB3:
\ts_endpgm                                            ; bfb00000
";
        let c = amd(listing).unwrap();
        assert_eq!(c.valu, 3, "the message block's, not the larger second hash");
        assert!(!c.classes.contains_key("add"));
    }

    #[test]
    fn aco_without_a_disassembler_is_read_from_its_ir() {
        let listing = "\
disasm:
Shader disassembly is not supported in the current configuration, falling back to print_program.

After lowering to hw instructions:
BB0
/* logical preds: / linear preds: / kind: uniform, */
\t v1: %5:v[0] = v_lshl_add_u32 %4016:s[117], 6, %4015:v[0]
BB1
\t v1: %6:v[1] = v_alignbit_b32 %5:v[0], %5:v[0], %7:s[4]
\t v1: %8:v[2] = v_alignbit_b32 %6:v[1], %6:v[1], %7:s[5]
\ts_delay_alu valu_dep_1 salu_cycle_1
";
        let c = amd(listing).unwrap();
        assert_eq!((c.valu, c.classes["rotate"]), (2, 2));
    }

    #[test]
    fn nak_reads_the_last_section_and_its_largest_block() {
        let listing = "\
NAK IR after calc_instr_deps:
block.u 0 L2 [] -> {
      ur0   = s2r sr[0x25]                                  // delay=1 wr:0
} -> [1]
block 1 L1 [0] -> {
      r2    = shf.r.w.u32 r1 r1 ur4                         // delay=1
      r3    = lop3.LUT[0x96] r2 r1 r0                       // delay=4
      r4    = iadd3 r3 r2 c[0x0][0x4]                       // delay=4
      @!p0 bra L3
} -> [2]
";
        let c = nak(listing).unwrap();
        assert_eq!(c.valu, 4);
        assert_eq!(c.classes["rotate"], 1);
        assert_eq!(c.classes["three_input"], 2);
    }

    #[test]
    fn agx_reads_the_shader_db_line() {
        let listing = "CS shader: 3850 instrs, 4904 alu, 3841 fscib, 4904 ic, 28162 code size\n";
        let c = agx(listing).unwrap();
        assert_eq!((c.valu, c.alu_cycles), (3850, Some(4904)));
    }

    #[test]
    fn listings_without_the_sections_are_errors() {
        assert!(amd("nothing here").is_err());
        assert!(nak("nothing here").is_err());
        assert!(agx("nothing here").is_err());
    }
}
