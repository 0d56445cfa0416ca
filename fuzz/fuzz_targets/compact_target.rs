//! Compact nBits against the target they stand for: a valid compact
//! decodes to a target that encodes back to the same compact (Bitcoin
//! Core's normal form), and a target's compact never stands for a larger
//! target.
#![no_main]

use hashrig::{CompactTarget, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: [u8; 36]| {
    let bits =
        CompactTarget::from_consensus(u32::from_le_bytes([data[0], data[1], data[2], data[3]]));
    if let Ok(target) = Target::from_compact(bits) {
        let again = target.to_compact_lossy();
        assert_eq!(Target::from_compact(again).unwrap(), target, "{bits}");
    }
    let mut le = [0u8; 32];
    le.copy_from_slice(&data[4..]);
    let target = Target::from_le_bytes(le);
    if !target.is_zero() {
        let compact = target.to_compact_lossy();
        if let Ok(back) = Target::from_compact(compact) {
            assert!(back <= target, "{compact} stands for more than {target}");
        }
    }
});
