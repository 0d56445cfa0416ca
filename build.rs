//! Writes out the straight-line parts of shaders/sha256d.wgsl: every round
//! and message-schedule word of SHA-256d, with the words that are constant
//! folded in here, so that no shader compiler has to unroll a loop.
//! The result is `$OUT_DIR/sha256d.wgsl`.

use std::fmt::Write as _;

include!("src/sha256_constants.rs");
/// FIPS 180-4's functions, one definition with src/sha256.rs (Maj is not
/// folded here: the rounds write it in terms of the previous round's a ^ b).
#[allow(dead_code)]
mod functions {
    include!("src/sha256_functions.rs");
}
use functions::{big_sigma0, big_sigma1, ch, small_sigma0, small_sigma1};

/// A value in generated code: a number known here, or a WGSL expression.
#[derive(Clone)]
enum Val {
    Lit(u32),
    Expr(String),
}

impl Val {
    fn expr(s: impl Into<String>) -> Val {
        Val::Expr(s.into())
    }
    fn wgsl(&self) -> String {
        match self {
            Val::Lit(n) => format!("{n:#010x}u"),
            Val::Expr(e) => e.clone(),
        }
    }
}

/// Sums values, folding the known ones into one literal.
fn sum(terms: &[Val]) -> Val {
    let mut lit = 0u32;
    let mut exprs = Vec::new();
    for t in terms {
        match t {
            Val::Lit(n) => lit = lit.wrapping_add(*n),
            Val::Expr(e) => exprs.push(e.clone()),
        }
    }
    if exprs.is_empty() {
        return Val::Lit(lit);
    }
    if lit != 0 {
        exprs.push(Val::Lit(lit).wgsl());
    }
    Val::Expr(exprs.join(" + "))
}

/// Sums values from the first on, each added to the sum of those before
/// it in parentheses (`d + (c + (b + a))`), every known one folded into one
/// literal added last. A whole compression's schedule adds its older words
/// first: where they are the job's own, a compiler that does not
/// reassociate (AMD's ACO) adds them on the scalar unit, and the words that
/// differ per nonce take one vector addition less.
fn sum_nested(terms: &[Val]) -> Val {
    let mut lit = 0u32;
    let mut acc: Option<String> = None;
    for t in terms {
        match t {
            Val::Lit(n) => lit = lit.wrapping_add(*n),
            Val::Expr(e) => {
                acc = Some(match acc {
                    None => e.clone(),
                    Some(a) => format!("{e} + ({a})"),
                })
            }
        }
    }
    match acc {
        None => Val::Lit(lit),
        Some(a) => sum(&[Val::Expr(a), Val::Lit(lit)]),
    }
}

/// Applies a WGSL function, or evaluates it here when every input is known.
fn call(name: &str, args: &[Val], eval: impl Fn(&[u32]) -> u32) -> Val {
    let known: Option<Vec<u32>> = args
        .iter()
        .map(|a| if let Val::Lit(n) = a { Some(*n) } else { None })
        .collect();
    match known {
        Some(v) => Val::Lit(eval(&v)),
        None => Val::Expr(format!(
            "{name}({})",
            args.iter().map(Val::wgsl).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn bsig0(x: &Val) -> Val {
    call("bsig0", std::slice::from_ref(x), |v| big_sigma0(v[0]))
}
fn bsig1(x: &Val) -> Val {
    call("bsig1", std::slice::from_ref(x), |v| big_sigma1(v[0]))
}
fn ssig0(x: &Val) -> Val {
    call("ssig0", std::slice::from_ref(x), |v| small_sigma0(v[0]))
}
fn ssig1(x: &Val) -> Val {
    call("ssig1", std::slice::from_ref(x), |v| small_sigma1(v[0]))
}
fn ch_of(e: &Val, f: &Val, g: &Val) -> Val {
    call("ch", &[e.clone(), f.clone(), g.clone()], |v| {
        ch(v[0], v[1], v[2])
    })
}
fn xor(x: &Val, y: &Val) -> Val {
    match (x, y) {
        (Val::Lit(x), Val::Lit(y)) => Val::Lit(x ^ y),
        _ => Val::expr(format!("({} ^ {})", x.wgsl(), y.wgsl())),
    }
}

/// Straight-line WGSL with `let` bindings for every intermediate.
struct Gen {
    out: String,
    prefix: &'static str,
    /// Schedule words summed older terms first (`sum_nested`): fewer
    /// instructions under ACO for a whole compression, where the header's
    /// schedule, partly precomputed on the host, is best left in order.
    older_first: bool,
    /// The first message block's compression: the schedule pairs made
    /// only of the job's words come from the host (`gp.pairs`, see
    /// `Gen::schedule`).
    host_pairs: bool,
}

impl Gen {
    /// Binds a non-literal value to a new name.
    fn bind(&mut self, name: String, v: Val) -> Val {
        match v {
            Val::Lit(_) => v,
            Val::Expr(e) => {
                let _ = writeln!(self.out, "    let {}{name} = {e};", self.prefix);
                Val::expr(format!("{}{name}", self.prefix))
            }
        }
    }

    /// W[16..=last] from W[0..16], folding constants.
    fn schedule(&mut self, w: &mut Vec<Val>, last: usize) {
        for t in w.len()..=last {
            // The older pair first, in parentheses of its own: where it
            // holds only the job's words, a GPU adds it on its scalar unit.
            let v = if self.host_pairs && t <= 30 {
                // The pairs of the job's words alone, summed on the host:
                // W[t-16] + σ0(W[t-15]) of t = 16..=30 in pair t - 16, and
                // σ1(W[t-2]) + W[t-7] of t = 16, 17 in pair t - 1. A sum
                // made here on the scalar unit would be folded by ACO into
                // the next vector addition (a three-input add with two
                // scalar inputs), leaving the words that differ per nonce
                // one addition of their own; a scalar select between the
                // host's sum and this one is not folded.
                let pair = |own: Val, words: [usize; 2], at: usize| {
                    Val::expr(format!(
                        "select({}, gp.pairs[{}][{}], job_word({}u) && job_word({}u))",
                        own.wgsl(),
                        at / 4,
                        at % 4,
                        words[0],
                        words[1]
                    ))
                };
                let older = pair(
                    sum(&[w[t - 16].clone(), ssig0(&w[t - 15])]),
                    [t - 16, t - 15],
                    t - 16,
                );
                let newer = sum(&[ssig1(&w[t - 2]), w[t - 7].clone()]);
                let newer = if t <= 17 {
                    pair(newer, [t - 2, t - 7], t - 1)
                } else {
                    newer
                };
                Val::expr(format!("({}) + ({})", newer.wgsl(), older.wgsl()))
            } else if self.older_first {
                sum_nested(&[
                    ssig0(&w[t - 15]),
                    w[t - 16].clone(),
                    w[t - 7].clone(),
                    ssig1(&w[t - 2]),
                ])
            } else {
                sum(&[
                    ssig1(&w[t - 2]),
                    w[t - 7].clone(),
                    ssig0(&w[t - 15]),
                    w[t - 16].clone(),
                ])
            };
            let v = self.bind(format!("w{t}"), v);
            w.push(v);
        }
    }

    /// Rounds `from..=to`; `a` is computed only up to round `a_until` (when
    /// only e of the last round is wanted, a after round t is last read as
    /// d in round t + 4). Schedule words are written just before the round
    /// that reads them, so that only a sixteen-word window is live at once.
    /// Maj(a, b, c) is b ^ ((a ^ b) & (b ^ c)), where b ^ c is the previous
    /// round's a ^ b: two operations a round instead of four.
    fn rounds(
        &mut self,
        s: &mut [Val; 8],
        w: &mut Vec<Val>,
        from: usize,
        to: usize,
        a_until: usize,
    ) {
        let mut prev_ab: Option<Val> = None;
        for t in from..=to {
            if w.len() <= t {
                self.schedule(w, t);
            }
            let [a, b, c, d, e, f, g, h] = s.clone();
            let t1 = sum(&[
                h,
                bsig1(&e),
                ch_of(&e, &f, &g),
                Val::Lit(K[t]),
                w[t].clone(),
            ]);
            let t1 = self.bind(format!("t{t}"), t1);
            let new_e = self.bind(format!("e{t}"), sum(&[d, t1.clone()]));
            let new_a = if t <= a_until {
                let bc = prev_ab.take().unwrap_or_else(|| xor(&b, &c));
                let ab = self.bind(format!("x{t}"), xor(&a, &b));
                let maj = match (&b, &ab, &bc) {
                    (Val::Lit(b), Val::Lit(ab), Val::Lit(bc)) => Val::Lit(b ^ (ab & bc)),
                    _ => Val::expr(format!("({} ^ ({} & {}))", b.wgsl(), ab.wgsl(), bc.wgsl())),
                };
                prev_ab = Some(ab);
                let v = sum(&[t1, bsig0(&a), maj]);
                self.bind(format!("a{t}"), v)
            } else {
                Val::Lit(0)
            };
            *s = [new_a, a, b, c, new_e, e, f, g];
        }
    }
}

fn header_e60() -> String {
    let mut g = Gen {
        out: String::new(),
        prefix: "",
        older_first: false,
        host_pairs: false,
    };
    // Second header block: W0..W2 from the uniform, W3 the nonce, padding known.
    let mut w: Vec<Val> = vec![
        Val::expr("p.tail.x"),
        Val::expr("p.tail.y"),
        Val::expr("p.tail.z"),
        Val::expr("w3"),
        Val::Lit(0x8000_0000),
    ];
    w.extend(std::iter::repeat_n(Val::Lit(0), 10));
    w.push(Val::Lit(640));
    // W16, W17 and the constant parts of W18, W19 come from the host.
    w.push(Val::expr("p.sched.x"));
    w.push(Val::expr("p.sched.y"));
    w.push(g.bind("w18".into(), Val::expr("ssig0(w3) + p.sched.z")));
    w.push(g.bind("w19".into(), Val::expr("w3 + p.sched.w")));
    // Round 3 reduces to two additions; rounds 0..2 were done on the host.
    let mut s = [
        g.bind("a3".into(), Val::expr("w3 + p.bases.x")),
        Val::expr("p.after3_lo.x"),
        Val::expr("p.after3_lo.y"),
        Val::expr("p.after3_lo.z"),
        g.bind("e3".into(), Val::expr("w3 + p.bases.y")),
        Val::expr("p.after3_hi.x"),
        Val::expr("p.after3_hi.y"),
        Val::expr("p.after3_hi.z"),
    ];
    g.rounds(&mut s, &mut w, 4, 63, 63);
    // The first digest is the second hash's message.
    let mid = [
        "p.midstate_lo.x",
        "p.midstate_lo.y",
        "p.midstate_lo.z",
        "p.midstate_lo.w",
        "p.midstate_hi.x",
        "p.midstate_hi.y",
        "p.midstate_hi.z",
        "p.midstate_hi.w",
    ];
    let mut w: Vec<Val> = Vec::new();
    for (i, m) in mid.iter().enumerate() {
        let v = g.bind(format!("m{i}"), sum(&[s[i].clone(), Val::expr(*m)]));
        w.push(v);
    }
    w.push(Val::Lit(0x8000_0000));
    w.extend(std::iter::repeat_n(Val::Lit(0), 6));
    w.push(Val::Lit(256));
    g.prefix = "f";
    let mut s = IV.map(Val::Lit);
    g.rounds(&mut s, &mut w, 0, 60, 56);
    let _ = writeln!(g.out, "    return {};", s[4].wgsl());
    g.out
}

/// One whole compression; with `host_pairs`, of the first message block,
/// whose job-only schedule pairs the host summed (`gp.pairs`).
fn compress(host_pairs: bool) -> String {
    let mut g = Gen {
        out: String::new(),
        prefix: "",
        older_first: true,
        host_pairs,
    };
    let mut w: Vec<Val> = (0..16).map(|i| Val::expr(format!("m[{i}]"))).collect();
    let init: [Val; 8] = std::array::from_fn(|i| Val::expr(format!("s[{i}]")));
    let mut s = init.clone();
    g.rounds(&mut s, &mut w, 0, 63, 63);
    let out: Vec<String> = (0..8)
        .map(|i| sum(&[s[i].clone(), init[i].clone()]).wgsl())
        .collect();
    let _ = writeln!(g.out, "    return array<u32, 8>({});", out.join(", "));
    g.out
}

fn load_block() -> String {
    // One construction, not a zero-initialised array written word by word:
    // HLSL translators disagree on zero-initialising arrays. The nonce's
    // words are placed where block `j` and word `k` are theirs: with the
    // place a pipeline constant, `k == o0` folds, and a word the nonce
    // never reaches is a plain load.
    let mut out = String::from("            let m = array<u32, 16>(\n");
    for k in 0..16 {
        let _ = writeln!(
            out,
            "                blocks[base + {k}u] | (p0 & select(0u, ~0u, j == b0 && {k}u == o0)) \
             | (p1 & select(0u, ~0u, j == b1 && {k}u == o1)) | (p2 & select(0u, ~0u, j == b2 && {k}u == o2)){}",
            if k < 15 { "," } else { "" }
        );
    }
    out.push_str("            );\n");
    out
}

/// `search_generic`'s message blocks after the midstate: a loop over them,
/// or, where the form has `compress_block`, the first block (the nonce's
/// own) through it and a loop over the rest.
fn blocks(host_pairs: bool, load_block: &str) -> String {
    let block = |compress: &str| {
        format!(
            "            let base = j * 16u;\n{load_block}\
             \x20           let state = array<u32, 8>(state_lo.x, state_lo.y, state_lo.z, state_lo.w, \
             state_hi.x, state_hi.y, state_hi.z, state_hi.w);\n\
             \x20           let s = {compress}(state, m);\n\
             \x20           state_lo = vec4<u32>(s[0], s[1], s[2], s[3]);\n\
             \x20           state_hi = vec4<u32>(s[4], s[5], s[6], s[7]);\n"
        )
    };
    let looped_from = |from: &str| {
        format!(
            "        for (var j = {from}; j < gp.shape.x; j = j + 1u) {{\n{}        }}\n",
            block("compress")
        )
    };
    if host_pairs {
        // As the loop from 0 would: no block, no compression. Without
        // FIRST_BLOCK_APART, the loop from 0 alone.
        format!(
            "        if (FIRST_BLOCK_APART && gp.shape.x != 0u) {{\n            let j = 0u;\n{}        }}\n{}",
            block("compress_block"),
            looped_from("select(0u, 1u, FIRST_BLOCK_APART)")
        )
    } else {
        looped_from("0u")
    }
}

/// The same straight-line code as Rust, for the shader's CPU twin: WGSL's
/// `0x…u` literals become `W(0x…)`, where `W` is a wrapping u32 with the
/// shader's operators and functions (src/gpu/twin.rs); every other token
/// (`let`, `+`, `^`, `&`, calls, `p.field.x`, `return`) reads the same.
fn as_rust(wgsl: &str) -> String {
    let mut out = String::with_capacity(wgsl.len() * 2);
    let mut rest = wgsl;
    while let Some(at) = rest.find("0x") {
        let (before, literal) = rest.split_at(at);
        out.push_str(before);
        let digits = &literal[2..10];
        assert!(
            digits.bytes().all(|b| b.is_ascii_hexdigit()) && literal[10..].starts_with('u'),
            "literal {literal:.11}"
        );
        out.push_str(&format!("W(0x{digits})"));
        rest = &literal[11..];
    }
    out.push_str(rest);
    out
}

/// A form of the kernel: the same rounds with Σ, σ and Ch written another
/// way (src/gpu/form.rs names them for the host).
struct Form {
    /// The generated file, in `$OUT_DIR`.
    file: &'static str,
    /// Rotation amounts read from the uniform instead of constants.
    amounts: bool,
    /// Ch(e, f, g)'s WGSL.
    ch: &'static str,
    /// The first message block is compressed on its own from the midstate
    /// (`compress_block`), its schedule taking the host's sums of job words
    /// (`gp.pairs`): one vector addition fewer a word for ACO, but a third
    /// compression in the shader (Apple's compiler: 48% more code).
    host_pairs: bool,
}

const FORMS: [Form; 2] = [
    Form {
        file: "sha256d.wgsl",
        amounts: false,
        ch: "g ^ (e & (f ^ g))",
        host_pairs: false,
    },
    Form {
        file: "sha256d-rotation-amounts.wgsl",
        amounts: true,
        ch: "(e & f) | (~e & g)",
        host_pairs: true,
    },
];

/// Σ0, Σ1, σ0, σ1 and Ch of `form` (the `//@functions` line).
fn functions(form: &Form) -> String {
    // Σ0's, Σ1's, σ0's and σ1's rotation amounts, in the uniform's order.
    let r = [2, 13, 22, 6, 11, 25, 7, 18, 17, 19];
    let amount = |i: usize| {
        if form.amounts {
            format!("rot{}.{}", i / 4, ["x", "y", "z", "w"][i % 4])
        } else {
            format!("{}u", r[i])
        }
    };
    let mut out = String::new();
    if form.amounts {
        out.push_str(
            "var<private> rot0: vec4<u32>;\nvar<private> rot1: vec4<u32>;\nvar<private> rot2: vec4<u32>;\n",
        );
    }
    for (name, first, last) in [
        ("bsig0", 0, ""),
        ("bsig1", 3, ""),
        ("ssig0", 6, "3u"),
        ("ssig1", 8, "10u"),
    ] {
        let third = if last.is_empty() {
            format!("rotr(x, {})", amount(first + 2))
        } else {
            format!("(x >> {last})")
        };
        let _ = writeln!(
            out,
            "fn {name}(x: u32) -> u32 {{ return rotr(x, {}) ^ rotr(x, {}) ^ {third}; }}",
            amount(first),
            amount(first + 1)
        );
    }
    let _ = writeln!(
        out,
        "fn ch(e: u32, f: u32, g: u32) -> u32 {{ return {}; }}",
        form.ch
    );
    out
}

fn main() {
    println!("cargo:rerun-if-changed=shaders/sha256d.wgsl");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/sha256_constants.rs");
    println!("cargo:rerun-if-changed=src/sha256_functions.rs");
    let template = std::fs::read_to_string("shaders/sha256d.wgsl").expect("shaders/sha256d.wgsl");
    let dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let (e60, plain, load_block) = (header_e60(), compress(false), load_block());
    for form in &FORMS {
        let mut shader = String::with_capacity(template.len() * 8);
        for line in template.lines() {
            match line.trim() {
                "//@header_e60" => shader.push_str(&e60),
                "//@compress" => shader.push_str(&plain),
                "//@compress_block" if form.host_pairs => {
                    shader.push_str(
                        "fn compress_block(s: array<u32, 8>, m: array<u32, 16>) -> array<u32, 8> {\n",
                    );
                    shader.push_str(&compress(true));
                    shader.push_str("}\n");
                }
                "//@compress_block" => {}
                "//@blocks" => shader.push_str(&blocks(form.host_pairs, &load_block)),
                "//@functions" => shader.push_str(&functions(form)),
                l if l.starts_with("//@rotations ") => {
                    if form.amounts {
                        let from = &l["//@rotations ".len()..];
                        for i in 0..3 {
                            let _ = writeln!(shader, "    rot{i} = {from}[{i}];");
                        }
                    }
                }
                _ => {
                    shader.push_str(line);
                    shader.push('\n');
                }
            }
        }
        std::fs::write(dir.join(form.file), shader).expect("write the generated shader");
    }
    let twin = format!(
        "/// `header_e60` of the generated shader, as Rust.\n\
         #[allow(unused_parens, clippy::all)]\n\
         pub(crate) fn header_e60(w3: W, p: &HeaderParams) -> W {{\n{}}}\n",
        as_rust(&e60)
    );
    std::fs::write(dir.join("header_e60.rs"), twin).expect("write the shader's Rust twin");
}
