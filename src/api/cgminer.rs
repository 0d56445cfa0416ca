//! The cgminer/sgminer TCP API: one request per connection, as a plain
//! `command|parameter` string or as JSON `{"command":"…","parameter":"…"}`;
//! the answer in the same form, ended by a NUL byte as cgminer ends it.
//! Commands: `version`, `summary`, `devs` and `pools`, with cgminer's
//! field names and status codes; anything else gets cgminer's "Invalid
//! command" status (code 14).
//!
//! Fields that hashrig does not know (a device's temperature on a platform
//! without sensors, a pool's unset difficulty) are left out, not sent as 0.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::server::{Conn, Limits, ReadEnd, Server};
use super::{Rig, Snapshot, Summary};
use crate::engine::{DeviceKind, DeviceState};
use crate::pool::PoolState;
use crate::Error;

/// The cgminer API version this API follows.
const API_VERSION: &str = "3.7";

/// The running cgminer API; stops when dropped.
pub struct CgminerServer {
    server: Server,
}

impl CgminerServer {
    /// Serves `rig` on `addr`.
    pub fn start(rig: Arc<Rig>, addr: SocketAddr) -> Result<Self, Error> {
        Self::with_limits(rig, addr, Limits::default())
    }

    /// [`start`](Self::start) with other bounds.
    pub fn with_limits(rig: Arc<Rig>, addr: SocketAddr, limits: Limits) -> Result<Self, Error> {
        let server = Server::start(
            "cgminer-api",
            addr,
            limits,
            Arc::new(move |conn: &mut Conn| handle(&rig, conn)),
        )?;
        Ok(CgminerServer { server })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops serving.
    pub fn stop(&self) {
        self.server.stop();
    }
}

/// One record: fields in cgminer's order.
type Record = Vec<(&'static str, Value)>;

/// An answer: the status record, then named sections of records.
struct Answer {
    status: Record,
    sections: Vec<(&'static str, Vec<Record>)>,
}

/// Whether a request has arrived: a plain command is taken as it comes
/// (cgminer reads once); JSON once it parses or a line ends.
fn complete(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let t = text.trim_start();
    !t.is_empty()
        && (!t.starts_with('{')
            || buf.contains(&b'\n')
            || buf.contains(&0)
            || serde_json::from_str::<Value>(t.trim_end_matches('\0')).is_ok())
}

fn handle(rig: &Rig, conn: &mut Conn) {
    let mut buf = Vec::new();
    let end = conn.read_request(&mut buf, complete);
    if buf.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(&buf);
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let json_form = text.starts_with('{');
    let answer = if matches!(end, ReadEnd::TooLarge) {
        error(23, "Invalid JSON", "request too large")
    } else if json_form {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => match v.get("command").and_then(Value::as_str) {
                Some(command) => run(rig, command.trim()),
                None => error(23, "Invalid JSON", "no command"),
            },
            Err(_) => error(23, "Invalid JSON", "the request is not JSON"),
        }
    } else {
        let command = text.split('|').next().unwrap_or("").trim();
        run(rig, command)
    };
    let mut out = if json_form {
        to_json(answer)
    } else {
        to_plain(answer)
    };
    out.push('\0');
    let _ = conn.stream.write_all(out.as_bytes());
    let _ = conn.stream.flush();
}

fn when() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn status(ok: bool, code: u32, msg: &str) -> Record {
    vec![
        ("STATUS", json!(if ok { "S" } else { "E" })),
        ("When", json!(when())),
        ("Code", json!(code)),
        ("Msg", json!(msg)),
        (
            "Description",
            json!(format!("hashrig {}", env!("CARGO_PKG_VERSION"))),
        ),
    ]
}

fn error(code: u32, msg: &str, why: &str) -> Answer {
    let mut status = status(false, code, msg);
    if !why.is_empty() {
        status[3].1 = json!(format!("{msg}: {why}"));
    }
    Answer {
        status,
        sections: Vec::new(),
    }
}

fn run(rig: &Rig, command: &str) -> Answer {
    // cgminer's commands are lower case; "summary+devs" joins are not
    // supported, like cgminer without --api-groups.
    match command {
        "version" => Answer {
            status: status(true, 22, "CGMiner versions"),
            sections: vec![(
                "VERSION",
                vec![vec![
                    ("CGMiner", json!(env!("CARGO_PKG_VERSION"))),
                    ("API", json!(API_VERSION)),
                    (
                        "Miner",
                        json!(format!("hashrig {}", env!("CARGO_PKG_VERSION"))),
                    ),
                ]],
            )],
        },
        "summary" => {
            let s = rig.snapshot();
            Answer {
                status: status(true, 11, "Summary"),
                sections: vec![("SUMMARY", vec![summary(&s)])],
            }
        }
        "devs" => {
            let s = rig.snapshot();
            let gpus = s
                .devices
                .iter()
                .filter(|d| d.kind == DeviceKind::Gpu)
                .count();
            let others = s.devices.len() - gpus;
            Answer {
                status: status(true, 9, &format!("{gpus} GPU(s) - {others} CPU(s)")),
                sections: vec![("DEVS", devs(&s))],
            }
        }
        "pools" => {
            let s = rig.snapshot();
            if s.pools.is_empty() {
                return error(8, "No pools", "");
            }
            Answer {
                status: status(true, 7, &format!("{} Pool(s)", s.pools.len())),
                sections: vec![("POOLS", pools(&s))],
            }
        }
        _ => error(14, "Invalid command", ""),
    }
}

fn mhs(hashes_per_second: f64) -> Value {
    json!((hashes_per_second / 1e6 * 1000.0).round() / 1000.0)
}

fn percent(part: u64, whole: u64) -> Value {
    json!(if whole == 0 {
        0.0
    } else {
        (part as f64 * 10000.0 / whole as f64).round() / 100.0
    })
}

fn summary(s: &Snapshot) -> Record {
    // The totals are /summary's, so that both APIs add up the same way.
    let doc = Summary::from_snapshot(s);
    let t = &doc.total;
    let (hashes, errors, proofs) = (t.hashes, t.hardware_errors, t.proofs);
    let (accepted, rejected, stale) = (t.shares.accepted, t.shares.rejected, t.shares.stale);
    let minutes = (s.uptime.as_secs_f64() / 60.0).max(1e-9);
    let blocks: u64 = doc.pools.iter().map(|p| p.blocks).sum();
    vec![
        ("Elapsed", json!(s.uptime.as_secs())),
        ("MHS av", mhs(t.hashrate.average)),
        ("MHS 5s", mhs(t.hashrate.last_5s)),
        ("MHS 1m", mhs(t.hashrate.last_60s)),
        (
            "Found Blocks",
            json!(if s.pools.is_empty() {
                t.solutions
            } else {
                blocks
            }),
        ),
        ("Accepted", json!(accepted)),
        ("Rejected", json!(rejected)),
        ("Hardware Errors", json!(errors)),
        ("Utility", json!(accepted as f64 / minutes)),
        ("Stale", json!(stale)),
        ("Local Work", json!(proofs)),
        ("Total MH", json!(hashes as f64 / 1e6)),
        (
            "Difficulty Accepted",
            json!(doc.pools.iter().fold(0.0, |a, p| a + p.accepted_difficulty)),
        ),
        ("Device Hardware%", percent(errors, proofs + errors)),
        ("Device Rejected%", percent(rejected, accepted + rejected)),
        ("Pool Rejected%", percent(rejected, accepted + rejected)),
        ("Pool Stale%", percent(stale, accepted + rejected + stale)),
    ]
}

fn devs(s: &Snapshot) -> Vec<Record> {
    let (mut gpu, mut cpu) = (0, 0);
    s.devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let id = match d.kind {
                DeviceKind::Gpu => ("GPU", &mut gpu),
                _ => ("CPU", &mut cpu),
            };
            let mut r: Record = vec![(id.0, json!(*id.1))];
            *id.1 += 1;
            let shares = s.shares.get(i).copied().unwrap_or_default();
            let (enabled, alive) = match d.state {
                DeviceState::Failed(_) => ("Y", "Dead"),
                DeviceState::Held(_) => ("N", "Alive"),
                _ => ("Y", "Alive"),
            };
            r.push(("Name", json!(d.name)));
            r.push(("Enabled", json!(enabled)));
            r.push(("Status", json!(alive)));
            let health = s.health.get(i).cloned().unwrap_or_default();
            if let Some(t) = health.temperature_c {
                r.push(("Temperature", json!(t)));
            }
            if let Some(rpm) = health.fan_rpm {
                r.push(("Fan Speed", json!(rpm)));
            }
            if let Some(p) = health.fan_percent {
                r.push(("Fan Percent", json!(p.round())));
            }
            if let Some(c) = health.core_clock_mhz {
                r.push(("GPU Clock", json!(c.round())));
            }
            if let Some(c) = health.memory_clock_mhz {
                r.push(("Memory Clock", json!(c.round())));
            }
            let elapsed = if d.rate_avg > 0.0 {
                (d.hashes as f64 / d.rate_avg).round() as u64
            } else {
                0
            };
            let minutes = (elapsed as f64 / 60.0).max(1e-9);
            r.extend([
                ("MHS av", mhs(d.rate_avg)),
                ("MHS 5s", mhs(d.rate_5s)),
                ("MHS 1m", mhs(d.rate_60s)),
                ("Accepted", json!(shares.accepted)),
                ("Rejected", json!(shares.rejected)),
                ("Hardware Errors", json!(d.hardware_errors)),
                ("Utility", json!(shares.accepted as f64 / minutes)),
                ("Total MH", json!(d.hashes as f64 / 1e6)),
                (
                    "Device Hardware%",
                    percent(d.hardware_errors, d.proofs + d.hardware_errors),
                ),
                (
                    "Device Rejected%",
                    percent(shares.rejected, shares.accepted + shares.rejected),
                ),
                ("Device Elapsed", json!(elapsed)),
            ]);
            r
        })
        .collect()
}

fn pools(s: &Snapshot) -> Vec<Record> {
    s.pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let status = match p.state {
                PoolState::Failed => "Dead",
                _ => "Alive",
            };
            let mut r: Record = vec![
                ("POOL", json!(i)),
                ("URL", json!(p.url)),
                ("Status", json!(status)),
                ("Priority", json!(i)),
                ("Quota", json!(1)),
                ("Long Poll", json!("N")),
                ("Accepted", json!(p.accepted)),
                ("Rejected", json!(p.rejected)),
                ("Stale", json!(p.stale)),
                ("User", json!(p.user)),
                ("Last Share Time", json!(p.last_share.unwrap_or(0))),
                ("Difficulty Accepted", json!(p.accepted_difficulty)),
                ("Has Stratum", json!(true)),
                ("Stratum Active", json!(p.up())),
                ("Stratum URL", json!(p.url)),
                ("Has GBT", json!(false)),
                (
                    "Pool Rejected%",
                    percent(p.rejected, p.accepted + p.rejected),
                ),
                (
                    "Pool Stale%",
                    percent(p.stale, p.accepted + p.rejected + p.stale),
                ),
            ];
            if let Some(d) = p.difficulty {
                r.insert(12, ("Stratum Difficulty", json!(d)));
                r.insert(12, ("Work Difficulty", json!(d)));
            }
            r
        })
        .collect()
}

fn to_json(answer: Answer) -> String {
    let object =
        |r: Record| Value::Object(r.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    let mut top = Map::new();
    top.insert("STATUS".into(), Value::Array(vec![object(answer.status)]));
    for (name, records) in answer.sections {
        top.insert(
            name.into(),
            Value::Array(records.into_iter().map(object).collect()),
        );
    }
    top.insert("id".into(), json!(1));
    Value::Object(top).to_string()
}

/// cgminer's plain form: `STATUS=S,When=…,Code=11,Msg=Summary,Description=…|`
/// then one `|`-ended record per item, a section's name first.
fn to_plain(answer: Answer) -> String {
    let field = |(k, v): (&str, Value)| match v {
        Value::String(s) => format!("{k}={}", s.replace([',', '|', '='], " ")),
        Value::Bool(b) => format!("{k}={}", if b { "true" } else { "false" }),
        other => format!("{k}={other}"),
    };
    let mut out: String = answer
        .status
        .into_iter()
        .map(field)
        .collect::<Vec<_>>()
        .join(",");
    out.push('|');
    for (name, records) in answer.sections {
        for record in records {
            // Device and pool records begin with their id (GPU=0, POOL=1);
            // others with the section's name.
            let starts_with_id = record
                .first()
                .is_some_and(|(k, _)| matches!(*k, "GPU" | "CPU" | "POOL"));
            let fields: Vec<String> = record.into_iter().map(field).collect();
            if !starts_with_id {
                out.push_str(name);
                out.push(',');
            }
            out.push_str(&fields.join(","));
            out.push('|');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_taken_in_both_forms() {
        assert!(complete(b"summary"));
        assert!(!complete(b"  "));
        assert!(!complete(b"{\"command\":\"sum"));
        assert!(complete(b"{\"command\":\"summary\"}"));
        assert!(complete(b"{\"command\":\n"));
    }

    #[test]
    fn plain_answers_are_cgminer_records() {
        let answer = Answer {
            status: vec![("STATUS", json!("S")), ("Code", json!(11))],
            sections: vec![
                ("SUMMARY", vec![vec![("MHS av", json!(1.5))]]),
                (
                    "DEVS",
                    vec![vec![("GPU", json!(0)), ("Name", json!("a,b|c"))]],
                ),
            ],
        };
        assert_eq!(
            to_plain(answer),
            "STATUS=S,Code=11|SUMMARY,MHS av=1.5|GPU=0,Name=a b c|"
        );
    }
}
