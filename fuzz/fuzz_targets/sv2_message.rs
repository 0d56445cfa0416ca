//! One decrypted Stratum V2 frame (below the Noise layer): its header
//! fields from the first four bytes, the payload after them. Decoding it
//! gives a message or an error, never a panic.
#![no_main]

use hashrig::sv2::messages::Incoming;
use hashrig::sv2::transport::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let frame = Frame {
        extension: u16::from_le_bytes([data[0], data[1]]) & 0x7fff,
        channel_msg: data[1] & 0x80 != 0,
        msg_type: data[2],
        payload: data[4..].to_vec(),
    };
    let _ = Incoming::parse(&frame);
});
