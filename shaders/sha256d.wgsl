// SHA-256d nonce search. Two entry points:
//   search_header:  Bitcoin header jobs (the nonce is word 3 of the second block).
//   search_generic: prefix midstate + 64-bit nonce + suffix, SHA-256 or SHA-256d.
//
// The lines starting with `//@` are replaced by build.rs with straight-line
// code (every round and schedule word written out): loops over dynamically
// indexed arrays run many times slower on compilers that do not unroll.
// Everything constant per job comes from the host in the uniforms below.

// Invocations per workgroup, set per device when the pipeline is built
// (calibration picks it).
override WORKGROUP_SIZE: u32 = 64u;

// Where a generic job's nonce lies in the message after the midstate: its
// first word and its byte offset in that word. Fixed per generic pipeline
// (the host builds one per job layout), so that a compiler places the
// nonce in the three words it touches instead of testing every word of
// every block.
override NONCE_WORD: u32 = 0u;
override NONCE_BYTE: u32 = 0u;
// Whether `search_generic` compresses the nonce's own block apart from the
// blocks after it, from the midstate (where the form has `compress_block`).
// Compilers with a scalar unit save instructions by it; the host turns it
// off on CPU drivers, whose LLVM runs the one loop faster.
override FIRST_BLOCK_APART: bool = true;

// Header job uniform. Mirrors `HeaderUniform` in src/gpu/shader.rs: every
// field is a u32 (little-endian in the buffer), grouped in vec4s.
struct HeaderParams {
    midstate_lo: vec4<u32>, // H0..H3 after the first 64 header bytes
    midstate_hi: vec4<u32>, // H4..H7
    after3_lo: vec4<u32>,   // a, b, c, d after rounds 0..2 of the second block
    after3_hi: vec4<u32>,   // e, f, g, h
    tail: vec4<u32>,        // W0, W1, W2 of the second block; target's most significant word
    bases: vec4<u32>,       // a4_base, e4_base (round 3 = two additions), K16+W16, K17+W17
    sched: vec4<u32>,       // W16, W17, c18 (W18 = σ0(W3) + c18), c19 (W19 = W3 + c19)
    batch: vec4<u32>,       // first nonce, nonce count, nonces per invocation, result capacity
    rotations: array<vec4<u32>, 3>, // Σ0's, Σ1's, σ0's and σ1's amounts: 2 13 22 6, 11 25 7 18, 17 19 3 10
}

// Generic job uniform. Mirrors `GenericUniform` in src/gpu/shader.rs.
struct GenericParams {
    midstate_lo: vec4<u32>, // state after the prefix's whole blocks
    midstate_hi: vec4<u32>,
    shape: vec4<u32>,       // blocks after the midstate, nonce word index, nonce byte offset in that word (both also the pipeline's NONCE_WORD and NONCE_BYTE), flags (1 = double, 2 = big-endian nonce)
    batch: vec4<u32>,       // first nonce low, high, nonce count, nonces per invocation
    check: vec4<u32>,       // target's most significant word, result capacity, 0, 0
    rotations: array<vec4<u32>, 3>, // as in HeaderParams
    pairs: array<vec4<u32>, 5>, // the first block's schedule sums of job words (read by `compress_block`), 3 words unused
}

@group(0) @binding(0) var<uniform> hp: HeaderParams;
// results[0] counts candidates; results[1..] holds their offsets from the first nonce.
@group(0) @binding(1) var<storage, read_write> results: array<atomic<u32>>;

@group(0) @binding(2) var<uniform> gp: GenericParams;
@group(0) @binding(3) var<storage, read_write> generic_results: array<atomic<u32>>;
// The message blocks after the midstate, nonce bytes zero, 16 words each.
@group(0) @binding(4) var<storage, read> blocks: array<u32>;

// WGSL has no rotate: this shape is what drivers turn into a funnel shift
// or a native rotate (not every driver when `n` is a constant).
fn rotr(x: u32, n: u32) -> u32 {
    return (x >> n) | (x << (32u - n));
}

// Σ0, Σ1, σ0, σ1 and Ch, written by build.rs for each kernel form:
// rotates by constants, or by the amounts in the uniform's `rotations`
// (copied into the private variables below), which no compiler can fold:
// AMD's ACO and NVIDIA's NAK turn a rotate by an amount they cannot see
// into one funnel shift, and a constant one into two shifts and an or.
//@functions

fn bswap(x: u32) -> u32 {
    return (x << 24u) | ((x << 8u) & 0x00ff0000u) | ((x >> 8u) & 0x0000ff00u) | (x >> 24u);
}

// e after round 60 of the final hash for the nonce whose byte-swapped value
// is w3; H7 = e60 + IV[7] (rounds 61..63 only shift it into h).
fn header_e60(w3: u32, p: HeaderParams) -> u32 {
//@header_e60
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn search_header(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let invocation = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
    // One copy of the uniform per invocation, read from registers below.
    let p = hp;
//@rotations p.rotations
    let first = invocation * p.batch.z;
    let last = min(first + p.batch.z, p.batch.y);
    for (var offset = first; offset < last; offset = offset + 1u) {
        let h7 = header_e60(bswap(p.batch.x + offset), p) + 0x5be0cd19u;
        if (bswap(h7) <= p.tail.w) {
            let slot = atomicAdd(&results[0], 1u);
            if (slot < p.batch.w) {
                atomicStore(&results[slot + 1u], offset);
            }
        }
    }
}

// The FIPS 180-4 compression function, written out.
fn compress(s: array<u32, 8>, m: array<u32, 16>) -> array<u32, 8> {
//@compress
}

// Whether word `k` of every block is the job's own: the nonce never lands
// there (the pipeline constants place it).
fn job_word(k: u32) -> bool {
    return k != NONCE_WORD % 16u && k != (NONCE_WORD + 1u) % 16u
        && (NONCE_BYTE == 0u || k != (NONCE_WORD + 2u) % 16u);
}

// The compression of the first message block, the nonce's own (the blocks
// before it are in the midstate), in the form that takes the host's sums
// of its job words alone (`gp.pairs`, summed from the block with its nonce
// bytes zero): a sum is taken where `job_word` says both words are the
// job's. (The other form has no such function.)
//@compress_block

@compute @workgroup_size(WORKGROUP_SIZE)
fn search_generic(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let invocation = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
//@rotations gp.rotations
    let per = gp.batch.w;
    let first = invocation * per;
    let word = NONCE_WORD;
    let shift = NONCE_BYTE * 8u;
    // The blocks and the words in them that the nonce's three words land in.
    let b0 = word / 16u;
    let o0 = word % 16u;
    let b1 = (word + 1u) / 16u;
    let o1 = (word + 1u) % 16u;
    let b2 = (word + 2u) / 16u;
    let o2 = (word + 2u) % 16u;
    let double = (gp.shape.w & 1u) != 0u;
    let big_endian = (gp.shape.w & 2u) != 0u;
    for (var i = 0u; i < per; i = i + 1u) {
        let offset = first + i;
        if (offset >= gp.batch.z) {
            break;
        }
        // The 64-bit nonce as two u32 with carry.
        let lo = gp.batch.x + offset;
        let hi = gp.batch.y + select(0u, 1u, lo < gp.batch.x);
        // The nonce's 8 bytes in message order, as two big-endian words.
        var n0 = bswap(lo);
        var n1 = bswap(hi);
        if (big_endian) {
            n0 = hi;
            n1 = lo;
        }
        // They straddle up to three message words from `word` on.
        let p0 = n0 >> shift;
        // (`& 31u`: with the byte offset a pipeline constant, a shift by
        // 32 would be a constant out of range even where it is not chosen.)
        let p1 = select(n1, (n0 << ((32u - shift) & 31u)) | (n1 >> shift), shift != 0u);
        let p2 = select(0u, n1 << ((32u - shift) & 31u), shift != 0u);
        // The running state as two vectors (arrays kept out of mutable
        // locals: some HLSL front ends reject their zero initialisers).
        var state_lo = gp.midstate_lo;
        var state_hi = gp.midstate_hi;
//@blocks
        var top = state_lo.x;
        if (double) {
            let d = array<u32, 16>(state_lo.x, state_lo.y, state_lo.z, state_lo.w, state_hi.x, state_hi.y, state_hi.z, state_hi.w,
                                   0x80000000u, 0u, 0u, 0u, 0u, 0u, 0u, 256u);
            let s = compress(array<u32, 8>(0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                           0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u), d);
            top = s[0];
        }
        if (top <= gp.check.x) {
            let slot = atomicAdd(&generic_results[0], 1u);
            if (slot < gp.check.y) {
                atomicStore(&generic_results[slot + 1u], offset);
            }
        }
    }
}
