//! A Stratum V2 server that misbehaves, for the tests that show hashrig
//! names each misbehaviour and goes on mining elsewhere.

use std::time::Duration;

/// A V2 server that sets up the channel properly, then misbehaves: on its
/// first connection random frames (random types, random payloads) and a
/// frame over the size limit; on its second a job for an unknown channel,
/// a zero target and binary garbage; on its third it stops mid-frame.
pub fn serve() -> u16 {
    use hashrig::sv2::transport::{self, Frame};
    use rand::{Rng, RngCore};
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().map_while(Result::ok).enumerate() {
            std::thread::spawn(move || {
                let mut s = stream;
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let responder = super::responder();
                let Ok((mut reader, mut writer)) =
                    transport::respond(&mut s, responder, Duration::from_secs(5))
                else {
                    return;
                };
                let mut send = |s: &mut std::net::TcpStream, f: &Frame| {
                    let b = writer.encrypt(f).unwrap();
                    s.write_all(&b)
                };
                let wait_for = |reader: &mut transport::Reader, s: &mut std::net::TcpStream| loop {
                    match reader.read(s) {
                        Ok(Some(f)) => return Some(f),
                        Ok(None) => {}
                        Err(_) => return None,
                    }
                };
                let Some(_) = wait_for(&mut reader, &mut s) else {
                    return;
                };
                let ok = common_messages_sv2::SetupConnectionSuccess {
                    used_version: 2,
                    flags: 0,
                };
                let _ = send(&mut s, &super::frame_of(ok, 0x01));
                let Some(_) = wait_for(&mut reader, &mut s) else {
                    return;
                };
                let target = [0xffu8; 32];
                let open = mining_sv2::OpenStandardMiningChannelSuccess {
                    request_id: 1,
                    channel_id: 1,
                    target: binary_sv2::U256::from(&target),
                    extranonce_prefix: binary_sv2::B032::new(&[][..]).unwrap(),
                    group_channel_id: 0,
                };
                let _ = send(&mut s, &super::frame_of(open, 0x11));
                let mut rng = rand::thread_rng();
                match n % 3 {
                    0 => {
                        for _ in 0..2000 {
                            let len = rng.gen_range(0..200);
                            let mut payload = vec![0u8; len];
                            rng.fill_bytes(&mut payload);
                            let f = Frame {
                                extension: if rng.gen_bool(0.1) { rng.gen() } else { 0 } & 0x7fff,
                                channel_msg: rng.gen(),
                                // Not Reconnect (0x04): most random
                                // payloads decode as one, and hashrig
                                // rightly follows it (to the same host).
                                msg_type: match rng.gen_range(0x00..0x26) {
                                    0x04 => 0x05,
                                    t if rng.gen_bool(0.8) => t,
                                    _ => rng.gen::<u8>().max(0x05),
                                },
                                payload,
                            };
                            if send(&mut s, &f).is_err() {
                                return;
                            }
                        }
                        let big = Frame {
                            extension: 0,
                            channel_msg: false,
                            msg_type: 0x15,
                            payload: vec![0; 1 << 20],
                        };
                        let _ = send(&mut s, &big);
                    }
                    1 => {
                        let root = [1u8; 32];
                        let job = mining_sv2::NewMiningJob {
                            channel_id: 77,
                            job_id: 1,
                            min_ntime: binary_sv2::Sv2Option::new(Some(1)),
                            version: 0x2000_0000,
                            merkle_root: binary_sv2::U256::from(&root),
                        };
                        let _ = send(&mut s, &super::frame_of(job, 0x15));
                        let zero = [0u8; 32];
                        let t = mining_sv2::SetTarget {
                            channel_id: 1,
                            maximum_target: binary_sv2::U256::from(&zero),
                        };
                        let _ = send(&mut s, &super::frame_of(t, 0x21));
                        let mut junk = vec![0u8; 5000];
                        rng.fill_bytes(&mut junk);
                        let _ = s.write_all(&junk);
                    }
                    _ => {
                        let f = Frame {
                            extension: 0,
                            channel_msg: true,
                            msg_type: 0x15,
                            payload: vec![3; 500],
                        };
                        let b = writer.encrypt(&f).unwrap();
                        let _ = s.write_all(&b[..b.len() / 2]);
                        return;
                    }
                }
                std::thread::sleep(Duration::from_secs(2));
            });
        }
    });
    port
}
