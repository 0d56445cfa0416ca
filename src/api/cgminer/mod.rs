//! The cgminer/sgminer TCP API: one request per connection, as a plain
//! `command|parameter` string or as JSON `{"command":"…","parameter":"…"}`;
//! the answer in the same form, ended by a NUL byte as cgminer ends it.
//! Commands: `version`, `summary`, `devs`, `pools`, `stats`, `devdetails`,
//! `config` and `coin`, with cgminer's field names and status codes (rates
//! in both `MHS` and `GHS`, as cgminer and the ASIC firmwares built on it
//! give them), and joined commands (`summary+devs`, JSON form) answered as
//! cgminer answers them; anything else gets cgminer's "Invalid command"
//! status (code 14). The records are built in `records.rs`.
//!
//! Fields that hashrig does not know (a device's temperature on a platform
//! without sensors, a pool's unset difficulty) are left out, not sent as 0.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

mod records;

use super::server::{Conn, Limits, ReadEnd, Server};
use super::Rig;
use crate::engine::DeviceKind;
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
pub(super) type Record = Vec<(&'static str, Value)>;

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
    let render = |a: Answer| if json_form { to_json(a) } else { to_plain(a) };
    let mut out = if matches!(end, ReadEnd::TooLarge) {
        render(error(23, "Invalid JSON", "request too large"))
    } else if json_form {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => match v.get("command").and_then(Value::as_str) {
                Some(command) => answer(rig, command.trim(), true),
                None => render(error(23, "Invalid JSON", "no command")),
            },
            Err(_) => render(error(23, "Invalid JSON", "the request is not JSON")),
        }
    } else {
        let command = text.split('|').next().unwrap_or("").trim();
        answer(rig, command, false)
    };
    out.push('\0');
    let _ = conn.stream.write_all(out.as_bytes());
    let _ = conn.stream.flush();
}

pub(super) fn when() -> u64 {
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

/// The commands served, cgminer's names.
const COMMANDS: [&str; 8] = [
    "version",
    "summary",
    "devs",
    "pools",
    "stats",
    "devdetails",
    "config",
    "coin",
];

fn run(rig: &Rig, command: &str) -> Answer {
    let s = rig.snapshot();
    let ok = |code: u32, msg: &str, name: &'static str, records: Vec<Record>| Answer {
        status: status(true, code, msg),
        sections: vec![(name, records)],
    };
    // cgminer's commands are lower case.
    match command {
        "version" => ok(22, "CGMiner versions", "VERSION", vec![records::version()]),
        "summary" => ok(11, "Summary", "SUMMARY", vec![records::summary(&s)]),
        "devs" => {
            let gpus = s
                .devices
                .iter()
                .filter(|d| d.kind == DeviceKind::Gpu)
                .count();
            let others = s.devices.len() - gpus;
            let msg = format!("{gpus} GPU(s) - {others} CPU(s)");
            ok(9, &msg, "DEVS", records::devs(&s))
        }
        "pools" if s.pools.is_empty() => error(8, "No pools", ""),
        "pools" => {
            let msg = format!("{} Pool(s)", s.pools.len());
            ok(7, &msg, "POOLS", records::pools(&s))
        }
        "stats" => ok(70, "CGMiner stats", "STATS", records::stats(&s)),
        "devdetails" => ok(69, "Device Details", "DEVDETAILS", records::devdetails(&s)),
        "config" => ok(33, "CGMiner config", "CONFIG", vec![records::config(&s)]),
        "coin" => ok(78, "CGMiner coin", "COIN", vec![records::coin()]),
        _ => error(14, "Invalid command", ""),
    }
}

/// A request's answer: one command's, or for `cmd1+cmd2` (cgminer's joined
/// commands, JSON only) each command's whole answer under its name.
fn answer(rig: &Rig, command: &str, json_form: bool) -> String {
    if !command.contains('+') {
        let a = run(rig, command);
        return if json_form { to_json(a) } else { to_plain(a) };
    }
    if !json_form {
        return to_plain(error(
            45,
            "Invalid command",
            "joined commands need the JSON form",
        ));
    }
    let parts: Vec<&str> = command.split('+').map(str::trim).collect();
    if let Some(bad) = parts.iter().find(|c| !COMMANDS.contains(c)) {
        return to_json(error(14, "Invalid command", &format!("{bad:?} in a join")));
    }
    let mut top = Map::new();
    for part in parts {
        let one: Value = serde_json::from_str(&to_json(run(rig, part))).unwrap_or(Value::Null);
        top.insert(part.to_string(), Value::Array(vec![one]));
    }
    top.insert("id".into(), json!(1));
    Value::Object(top).to_string()
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
