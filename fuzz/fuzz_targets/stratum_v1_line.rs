//! One line from a Stratum v1 pool: whatever it is, parsing it returns a
//! message or an error. What it promises of a message holds: a difficulty
//! has a target, a response's text is clipped to the length asked for.
#![no_main]

use hashrig::stratum::ServerMessage;
use hashrig::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match ServerMessage::parse(line) {
        Ok(ServerMessage::SetDifficulty(d)) => {
            assert!(d.is_finite() && d > 0.0, "{d}");
            Target::from_difficulty(d).expect("a difficulty the parser accepted has a target");
        }
        Ok(ServerMessage::Response { result, .. }) => {
            let text = result.describe(200);
            assert!(text.chars().count() <= 203, "{text}");
        }
        Ok(ServerMessage::SetExtranonce(extranonce1, size)) => {
            // An extranonce the coinbase can hold.
            assert!(
                extranonce1.len() <= 1024 && size <= 1024,
                "{} {size}",
                extranonce1.len()
            );
        }
        _ => {}
    }
});
