//! The transport against SRI's own responder (`noise_sv2`, `codec_sv2`)
//! on loopback, and the messages against SRI's own encodings.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use binary_sv2::{Seq0255, Sv2Option, U256};
use codec_sv2::Handshake;
use proptest::prelude::*;

use super::messages::{self, Incoming, ShareFields};
use super::transport::{self, Frame, HandshakeError, ReadError, MAX_FRAME};
use super::AuthorityKey;
use crate::Target;

/// SRI's example authority key pair.
const SRI_PUBLIC: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
const SRI_SECRET: [u8; 32] = [
    0x65, 0x99, 0x5e, 0xb1, 0x96, 0x31, 0xf4, 0x78, 0xa4, 0x6f, 0xfa, 0x5c, 0xf1, 0xe5, 0x45, 0x09,
    0x1e, 0xfe, 0x95, 0x0e, 0xae, 0xac, 0x74, 0x82, 0xff, 0xdc, 0x06, 0xeb, 0x6a, 0x89, 0xf6, 0x97,
];

/// Another authority: secret key 1, whose x-only public key is the
/// generator's x.
fn other_authority() -> ([u8; 32], [u8; 32]) {
    let mut secret = [0u8; 32];
    secret[31] = 1;
    let public = crate::hex::decode_array(
        "key",
        "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    )
    .unwrap();
    (public, secret)
}

fn sri_public() -> [u8; 32] {
    SRI_PUBLIC.parse::<AuthorityKey>().unwrap().to_bytes()
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// A loopback pair: the server side runs `serve` on its own thread.
fn pair(serve: impl FnOnce(TcpStream) + Send + 'static) -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        serve(s)
    });
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

/// SRI's responder with `(public, secret)`, its certificate dated `at`.
fn respond_at(
    mut s: TcpStream,
    (public, secret): ([u8; 32], [u8; 32]),
    at: u32,
) -> Option<(transport::Reader, transport::Writer, TcpStream)> {
    use std::io::Read;
    let responder =
        noise_sv2::Responder::from_authority_kp(&public, &secret, Duration::from_secs(3600))
            .unwrap();
    let mut first = [0u8; noise_sv2::ELLSWIFT_ENCODING_SIZE];
    s.read_exact(&mut first).ok()?;
    let (answer, transport) = Handshake::responder(responder)
        .step_1_with_now_rng(first, at, &mut rand::thread_rng())
        .unwrap();
    s.write_all(answer.payload()).ok()?;
    drop(transport);
    None
}

#[test]
fn handshake_with_the_pinned_key_then_frames_both_ways() {
    let sent = Frame {
        extension: 0,
        channel_msg: true,
        msg_type: 0x1a,
        payload: (0..=255u8).collect(),
    };
    let expect = sent.clone();
    let mut client = pair(move |mut s| {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let responder = noise_sv2::Responder::from_authority_kp(
            &sri_public(),
            &SRI_SECRET,
            Duration::from_secs(3600),
        )
        .unwrap();
        let (mut reader, mut writer) =
            transport::respond(&mut s, responder, Duration::from_secs(5)).unwrap();
        let frame = loop {
            if let Some(f) = reader.read(&mut s).unwrap() {
                break f;
            }
        };
        assert_eq!(frame, expect);
        let back = writer.encrypt(&frame).unwrap();
        s.write_all(&back).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    let key: AuthorityKey = SRI_PUBLIC.parse().unwrap();
    let (mut reader, mut writer) =
        transport::handshake(&mut client, Some(&key), Duration::from_secs(5)).unwrap();
    let bytes = writer.encrypt(&sent).unwrap();
    client.write_all(&bytes).unwrap();
    let echoed = loop {
        if let Some(f) = reader.read(&mut client).unwrap() {
            break f;
        }
    };
    assert_eq!(echoed, sent);
}

#[test]
fn a_certificate_of_another_authority_is_refused() {
    let mut client = pair(|s| {
        respond_at(s, other_authority(), now());
    });
    let key: AuthorityKey = SRI_PUBLIC.parse().unwrap();
    let e = transport::handshake(&mut client, Some(&key), Duration::from_secs(5))
        .err()
        .expect("refused");
    assert!(matches!(e, HandshakeError::WrongKey(k) if k == key), "{e}");
    assert!(
        e.to_string().contains("not signed by the authority key"),
        "{e}"
    );
}

#[test]
fn a_certificate_out_of_its_validity_is_refused() {
    // Signed by the right authority two hours ago, valid for one.
    let mut client = pair(|s| {
        respond_at(s, (sri_public(), SRI_SECRET), now() - 7200);
    });
    let key: AuthorityKey = SRI_PUBLIC.parse().unwrap();
    let e = transport::handshake(&mut client, Some(&key), Duration::from_secs(5))
        .err()
        .expect("refused");
    assert!(matches!(e, HandshakeError::Expired { .. }), "{e}");
}

#[test]
fn a_stalled_handshake_times_out() {
    let mut client = pair(|s| {
        std::thread::sleep(Duration::from_secs(2));
        drop(s);
    });
    let t = std::time::Instant::now();
    let e = transport::handshake(&mut client, None, Duration::from_millis(300))
        .err()
        .expect("timed out");
    assert!(matches!(e, HandshakeError::TimedOut(_)), "{e}");
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// A handshake with SRI's responder, then `then` on the server side.
fn after_handshake(
    then: impl FnOnce(TcpStream, transport::Writer) + Send + 'static,
) -> (transport::Reader, TcpStream) {
    let mut client = pair(move |mut s| {
        let responder = noise_sv2::Responder::from_authority_kp(
            &sri_public(),
            &SRI_SECRET,
            Duration::from_secs(3600),
        )
        .unwrap();
        let (_reader, writer) =
            transport::respond(&mut s, responder, Duration::from_secs(5)).unwrap();
        then(s, writer);
    });
    let key: AuthorityKey = SRI_PUBLIC.parse().unwrap();
    let (reader, _) =
        transport::handshake(&mut client, Some(&key), Duration::from_secs(5)).unwrap();
    (reader, client)
}

fn read_until_end(reader: &mut transport::Reader, s: &mut TcpStream) -> ReadError {
    loop {
        match reader.read(s) {
            Ok(_) => {}
            Err(e) => return e,
        }
    }
}

#[test]
fn garbage_after_the_handshake_ends_the_connection_cleanly() {
    let (mut reader, mut s) = after_handshake(|mut s, _| {
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        let _ = s.write_all(&junk);
        std::thread::sleep(Duration::from_millis(300));
    });
    assert!(matches!(
        read_until_end(&mut reader, &mut s),
        ReadError::Bad(_)
    ));
}

#[test]
fn a_frame_over_the_limit_is_refused_before_it_is_buffered() {
    let (mut reader, mut s) = after_handshake(|mut s, mut w| {
        let big = Frame {
            extension: 0,
            channel_msg: false,
            msg_type: 0x15,
            payload: vec![0; MAX_FRAME + 1000],
        };
        let _ = s.write_all(&w.encrypt(&big).unwrap());
        std::thread::sleep(Duration::from_millis(300));
    });
    assert!(matches!(
        read_until_end(&mut reader, &mut s),
        ReadError::TooLong
    ));
}

#[test]
fn a_server_that_stops_mid_frame_is_a_closed_connection() {
    let (mut reader, mut s) = after_handshake(|mut s, mut w| {
        let frame = Frame {
            extension: 0,
            channel_msg: false,
            msg_type: 0x15,
            payload: vec![7; 100],
        };
        let bytes = w.encrypt(&frame).unwrap();
        let _ = s.write_all(&bytes[..bytes.len() / 2]);
    });
    let e = read_until_end(&mut reader, &mut s);
    assert!(
        matches!(e, ReadError::Closed { partial } if partial > 0),
        "{e}"
    );
}

#[test]
fn shares_decode_with_sris_own_types() {
    let fields = ShareFields {
        channel_id: 7,
        sequence_number: 42,
        job_id: 3,
        nonce: 0xdead_beef,
        ntime: 1_700_000_000,
        version: 0x2000_6000,
    };
    let mut f = messages::submit_standard(&fields);
    assert_eq!((f.msg_type, f.channel_msg), (0x1a, true));
    let s: mining_sv2::SubmitSharesStandard = binary_sv2::from_bytes(&mut f.payload).unwrap();
    assert_eq!(
        (
            s.channel_id,
            s.sequence_number,
            s.job_id,
            s.nonce,
            s.ntime,
            s.version
        ),
        (7, 42, 3, 0xdead_beef, 1_700_000_000, 0x2000_6000)
    );
    let mut f = messages::submit_extended(&fields, &[1, 2, 3, 4]);
    let s: mining_sv2::SubmitSharesExtended = binary_sv2::from_bytes(&mut f.payload).unwrap();
    assert_eq!(s.extranonce.as_bytes(), &[1, 2, 3, 4]);
    let mut f = messages::open_standard(1, "me.w1", 1e9, &Target::MAX);
    let o: mining_sv2::OpenStandardMiningChannel = binary_sv2::from_bytes(&mut f.payload).unwrap();
    assert_eq!(o.user_identity.as_utf8_or_hex(), "me.w1");
    assert_eq!(o.max_target.to_array(), [0xff; 32]);
}

#[test]
fn sri_encoded_jobs_parse_to_the_same_fields() {
    let root = [9u8; 32];
    let job = mining_sv2::NewMiningJob {
        channel_id: 1,
        job_id: 5,
        min_ntime: Sv2Option::new(Some(1_700_000_000)),
        version: 0x2000_0000,
        merkle_root: U256::from(&root),
    };
    let frame = Frame {
        extension: 0,
        channel_msg: true,
        msg_type: mining_sv2::MESSAGE_TYPE_NEW_MINING_JOB,
        payload: binary_sv2::to_bytes(job).unwrap(),
    };
    let Incoming::Job(j) = Incoming::parse(&frame).unwrap() else {
        panic!("not a job")
    };
    assert_eq!(
        (
            j.channel_id,
            j.job_id,
            j.min_ntime,
            j.version,
            j.merkle_root
        ),
        (1, 5, Some(1_700_000_000), 0x2000_0000, root)
    );
    let path = [[1u8; 32], [2u8; 32]];
    let ext = mining_sv2::NewExtendedMiningJob {
        channel_id: 2,
        job_id: 6,
        min_ntime: Sv2Option::new(None),
        version: 0x2000_0000,
        version_rolling_allowed: true,
        merkle_path: Seq0255::new(path.iter().map(U256::from).collect()).unwrap(),
        coinbase_tx_prefix: binary_sv2::B064K::try_from(&[1u8, 2][..]).unwrap(),
        coinbase_tx_suffix: binary_sv2::B064K::try_from(&[3u8][..]).unwrap(),
    };
    let frame = Frame {
        extension: 0,
        channel_msg: true,
        msg_type: mining_sv2::MESSAGE_TYPE_NEW_EXTENDED_MINING_JOB,
        payload: binary_sv2::to_bytes(ext).unwrap(),
    };
    let Incoming::ExtendedJob(j) = Incoming::parse(&frame).unwrap() else {
        panic!("not an extended job")
    };
    assert_eq!(j.merkle_path, path.to_vec());
    assert_eq!(
        (j.min_ntime, j.coinbase_prefix, j.coinbase_suffix),
        (None, vec![1, 2], vec![3])
    );
}

#[test]
fn a_zero_target_is_named_not_used() {
    let zero = [0u8; 32];
    let t = mining_sv2::SetTarget {
        channel_id: 1,
        maximum_target: U256::from(&zero),
    };
    let frame = Frame {
        extension: 0,
        channel_msg: true,
        msg_type: mining_sv2::MESSAGE_TYPE_SET_TARGET,
        payload: binary_sv2::to_bytes(t).unwrap(),
    };
    let e = Incoming::parse(&frame).unwrap_err();
    assert!(e.why.contains("zero"), "{e}");
}

proptest! {
    /// Whatever bytes come as a message of any type, parsing names the
    /// problem or gives a message; it never panics.
    #[test]
    fn random_frames_never_panic(
        msg_type in prop_oneof![0x00u8..0x05, 0x10u8..0x26, any::<u8>()],
        extension in prop_oneof![Just(0u16), any::<u16>()],
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let frame = Frame { extension: extension & 0x7fff, channel_msg: true, msg_type, payload };
        let _ = Incoming::parse(&frame);
    }
}
