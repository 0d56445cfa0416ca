//! The fewest operations SHA-256d of a header needs per nonce with the
//! kernel's precomputation (FIPS 180-4), portable and with NVIDIA's fused
//! instructions, and the kernel's own count under each.

use super::counts::OpCounts;
use super::spirv::SpirvCost;
use crate::sha256::IV;

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
    /// AMD GCN5 (gfx9: Vega, CDNA) and RDNA: a rotate is one
    /// `v_alignbit_b32`, a bit select one `v_bfi_b32` (Ch; Maj is an xor
    /// and a bit select), `v_add3_u32` adds three inputs (a literal among
    /// them); `xor3` says whether `v_xor3_b32` exists (RDNA, gfx10 on: Σ's
    /// two xors in one) or not (gfx9: two xors).
    Amd {
        /// `v_xor3_b32` exists.
        xor3: bool,
    },
}

impl Isa {
    /// RDNA (gfx10, gfx11, gfx12).
    pub const RDNA: Isa = Isa::Amd { xor3: true };
    /// GCN5 and CDNA (gfx9: Vega, MI100, MI200, MI300).
    pub const GFX9: Isa = Isa::Amd { xor3: false };

    /// Rotates in one instruction, additions of three inputs in one.
    fn fused(self) -> bool {
        self != Isa::Portable
    }
}

/// A value in the minimum's count: known when the job or the constants
/// fix it, unknown when it depends on the nonce.
#[derive(Clone, Copy)]
enum Word {
    Known(u32),
    Nonce,
}

fn unknown(w: &Word) -> bool {
    matches!(w, Word::Nonce)
}

/// Counts the operations of SHA-256's parts under one ISA.
struct Count {
    isa: Isa,
    c: OpCounts,
}

impl Count {
    /// An addition of `unknown` terms and maybe a known one.
    fn add(&mut self, unknown: u32, known: bool) {
        let inputs = unknown + known as u32;
        if unknown > 0 && inputs > 1 {
            self.c.add += if self.isa.fused() {
                (inputs - 1).div_ceil(2)
            } else {
                inputs - 1
            };
        }
    }

    /// Σ or σ of an unknown word: three rotates (or two and a shift) and
    /// two xors.
    fn sigma(&mut self, rotates: u32) {
        match self.isa {
            Isa::Portable => {
                self.c.shift += 2 * rotates + (3 - rotates);
                self.c.logic += rotates + 2;
            }
            Isa::Nvidia | Isa::Amd { xor3: true } => {
                self.c.shift += 3;
                self.c.logic += 1;
            }
            Isa::Amd { xor3: false } => {
                self.c.shift += 3;
                self.c.logic += 2;
            }
        }
    }

    /// Ch(e, f, g) = g ^ (e & (f ^ g)) with some inputs unknown: three
    /// logic ops portably, fewer when inputs are known; one LOP3 or BFI.
    fn ch(&mut self, e: bool, f: bool, g: bool) {
        if !(e || f || g) {
            return;
        }
        self.c.logic += match self.isa {
            Isa::Portable => [f || g, e || f || g, true].iter().filter(|&&x| x).count() as u32,
            Isa::Nvidia | Isa::Amd { .. } => 1,
        };
    }

    /// Maj(a, b, c) with an input unknown: a ^ b, then b ^ ((a ^ b) &
    /// (b ^ c)) with b ^ c kept from the previous round; one LOP3 on
    /// NVIDIA; a ^ b and a bit select on AMD.
    fn maj(&mut self) {
        self.c.logic += match self.isa {
            Isa::Portable => 3,
            Isa::Nvidia => 1,
            Isa::Amd { .. } => 2,
        };
    }

    /// Rounds `from..=to` of one compression over `w`, from state `s`;
    /// `a` is needed only through `a_until`.
    fn rounds(&mut self, s: &mut [Word; 8], w: &[Word], from: usize, to: usize, a_until: usize) {
        for (t, wt) in w.iter().enumerate().take(to + 1).skip(from) {
            let [a, b, cc, d, e, f, g, h] = *s;
            let e_var = unknown(&e);
            if e_var {
                self.sigma(3);
            }
            let ch_var = unknown(&e) || unknown(&f) || unknown(&g);
            self.ch(unknown(&e), unknown(&f), unknown(&g));
            // T1 = h + Σ1(e) + Ch + (K + W).
            let t1_unknown = unknown(&h) as u32 + e_var as u32 + ch_var as u32 + unknown(wt) as u32;
            self.add(t1_unknown, true);
            let t1_var = t1_unknown > 0;
            // e' = d + T1.
            self.add(unknown(&d) as u32 + t1_var as u32, !unknown(&d) || !t1_var);
            let new_e = if t1_var || unknown(&d) {
                Word::Nonce
            } else {
                Word::Known(0)
            };
            let new_a = if t <= a_until {
                let a_var = unknown(&a);
                if a_var {
                    self.sigma(3);
                }
                let maj_var = unknown(&a) || unknown(&b) || unknown(&cc);
                if maj_var {
                    self.maj();
                }
                let terms = t1_var as u32 + a_var as u32 + maj_var as u32;
                self.add(terms, false);
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
    }

    /// The message schedule: W[16..=last].
    fn schedule(&mut self, w: &mut Vec<Word>, last: usize) {
        for t in w.len()..=last {
            let (w2, w7, w15, w16) = (w[t - 2], w[t - 7], w[t - 15], w[t - 16]);
            let mut unknowns = 0;
            let mut known = false;
            for (word, small) in [(w2, true), (w7, false), (w15, true), (w16, false)] {
                match word {
                    Word::Nonce => {
                        if small {
                            self.sigma(2);
                        }
                        unknowns += 1;
                    }
                    Word::Known(v) => known |= v != 0,
                }
            }
            self.add(unknowns, known);
            w.push(if unknowns > 0 {
                Word::Nonce
            } else {
                Word::Known(1)
            });
        }
    }
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
    let mut n = Count {
        isa,
        c: OpCounts::default(),
    };
    // First hash, second block: W0..W2 from the header, W3 the nonce,
    // then the padding (0x80000000, zeros, the length 640).
    let mut w: Vec<Word> = vec![Word::Known(1), Word::Known(1), Word::Known(1), Word::Nonce];
    w.push(Word::Known(0x8000_0000));
    w.extend(std::iter::repeat_n(Word::Known(0), 10));
    w.push(Word::Known(640));
    n.schedule(&mut w, 63);
    // Round 3: a and e are the nonce plus values fixed per job.
    n.c.add += 2;
    let k = Word::Known(1);
    let mut s = [Word::Nonce, k, k, k, Word::Nonce, k, k, k];
    n.rounds(&mut s, &w, 4, 63, 63);
    // The digest (state + midstate) is the second hash's message.
    n.c.add += 8;
    let mut w: Vec<Word> = vec![Word::Nonce; 8];
    w.push(Word::Known(0x8000_0000));
    w.extend(std::iter::repeat_n(Word::Known(0), 6));
    w.push(Word::Known(256));
    n.schedule(&mut w, 60);
    let mut s = IV.map(Word::Known);
    n.rounds(&mut s, &w, 0, 60, 56);
    // H7 = e60 + IV[7].
    n.c.add += 1;
    n.c
}

/// The fewest operations of one whole SHA-256 compression of a block
/// whose words marked in `varies` differ from nonce to nonce (the others
/// are the job's own, the same for every nonce), from a state that differs
/// (`state_varies`) or that the job fixes: what the generic kernel does
/// for each block of its message (the nonce's own block starts from the
/// job's midstate, a later block from a state that differs). 48 schedule
/// words, 64 rounds and the eight additions of the state, with every
/// operation on the job's words alone left out (a GPU does those once, on
/// its scalar unit).
pub fn minimum_compression_ops(isa: Isa, varies: [bool; 16], state_varies: bool) -> OpCounts {
    let mut n = Count {
        isa,
        c: OpCounts::default(),
    };
    let mut w: Vec<Word> = varies
        .iter()
        .map(|&v| if v { Word::Nonce } else { Word::Known(1) })
        .collect();
    n.schedule(&mut w, 63);
    let mut s = if state_varies {
        [Word::Nonce; 8]
    } else {
        [Word::Known(1); 8]
    };
    n.rounds(&mut s, &w, 0, 63, 63);
    // The state's eight additions: those of a known state to a word that
    // differs (all eight, 64 rounds on).
    n.c.add += 8;
    n.c
}

/// The kernel's add, logic and shift operations per nonce under `isa`:
/// the SPIR-V's, less the `32 - n` of every rotate (folded once `rotr` is
/// inlined with its constant); under a fusing ISA each kind then shrinks
/// by the same ratio as the minimum's does (rotates to funnel shifts,
/// xor chains, Ch and Maj to LOP3 or bit selects, additions to three-input
/// adds).
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
        fused => {
            let (p, n) = (minimum_header_ops(Isa::Portable), minimum_header_ops(fused));
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
