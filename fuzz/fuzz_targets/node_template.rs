//! A node's getblocktemplate answer: whatever JSON it is, it becomes a
//! template or an error; a template gives a coinbase, its witness
//! commitment, a merkle branch and a root without panicking.
#![no_main]

use hashrig::node::template::{merkle_root_with, Coinbase, Template};
use hashrig::Digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(template) = Template::from_json(&value) else {
        return;
    };
    // A P2WPKH payout script and a short tag, as the miner uses them.
    let payout = [0x00, 0x14]
        .iter()
        .chain(&[0x11; 20])
        .copied()
        .collect::<Vec<u8>>();
    let coinbase = Coinbase::build(&template, &payout, b"/hashrig/");
    let _ = coinbase.in_block(&[0; 8]);
    let _ = template.witness_commitment();
    let _ = template.merkle_branch();
    let _ = template.start_time();
    let _ = merkle_root_with(&template, Digest::from_bytes([0x22; 32]));
});
