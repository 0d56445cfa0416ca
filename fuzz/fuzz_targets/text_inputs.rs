//! The text a user, a config file or a C caller hands over: headers,
//! targets, compact bits and hex in any form, pool and node URLs and
//! Stratum V2 authority keys. Each parses or gives an error; what parses
//! prints back as something that parses to the same value.
#![no_main]

use hashrig::stratum::PoolUrl;
use hashrig::sv2::AuthorityKey;
use hashrig::upstream::UpstreamUrl;
use hashrig::{CompactTarget, Header, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(header) = Header::from_hex(text) {
        let again = Header::from_hex(&hashrig::hex::encode(&header.to_bytes())).unwrap();
        assert_eq!(again, header);
    }
    if let Ok(target) = Target::from_hex(text) {
        assert_eq!(Target::from_hex(&target.to_string()).unwrap(), target);
    }
    if let Ok(bits) = CompactTarget::from_hex(text) {
        assert_eq!(CompactTarget::from_hex(&bits.to_string()).unwrap(), bits);
    }
    if let Ok(url) = text.parse::<PoolUrl>() {
        let _ = url.to_string();
    }
    // What a URL names is decided once, by its scheme: what parses prints
    // as a URL of the same kind that prints the same again.
    if let Ok(url) = text.parse::<UpstreamUrl>() {
        let shown = url.to_string();
        let again: UpstreamUrl = shown.parse().expect("a printed URL parses");
        assert_eq!(
            std::mem::discriminant(&again),
            std::mem::discriminant(&url),
            "{text:?} -> {shown:?}"
        );
        assert_eq!(again.to_string(), shown);
    }
    let _ = text.parse::<AuthorityKey>();
    let _ = hashrig::hex::decode("data", text);
});
