//! Stratum v1 on the wire: one JSON-RPC object per line, parsed at the
//! edge into typed messages ([`ServerMessage`]: `mining.notify`,
//! `mining.set_difficulty`, …), the only shape of the pool's messages the
//! rest of hashrig sees; the requests a miner sends, written as pools
//! expect them. The envelope, each method's params and the requests live
//! in files of their own and are all named here.
//!
//! Everything here treats its input as hostile: wrong types, missing
//! fields, absurd numbers and oversized values are a [`ProtocolError`]
//! that names the method and the field, never a panic.

use serde_json::{json, Value};

pub(crate) use super::envelope::clip;
pub use super::envelope::{
    words_reversed, Incoming, ProtocolError, RpcError, BIP320_MASK, EXTRANONCE2_SIZES,
    MAX_BRANCHES, MAX_LINE, MIN_ROLLING_BITS,
};
pub use super::outgoing::{
    authorize_request, configure_params, configure_request, extranonce_subscribe_request, reply,
    request, subscribe_params, subscribe_request, Submit,
};
pub use super::params::{
    difficulty_from_params, extranonce_from_params, granted_mask, version_mask_from_params, Notify,
    Reconnect, Subscription,
};

/// The id of a request from the pool, echoed in the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestId(Value);

impl RequestId {
    /// The reply line carrying `result` (newline included).
    pub fn reply(&self, result: &str) -> String {
        reply(&self.0, json!(result), None)
    }

    /// The error reply line (newline included).
    pub fn refuse(&self, code: i64, message: &str) -> String {
        reply(&self.0, Value::Null, Some((code, message)))
    }
}

/// The result a pool gave to one of our requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply(Value);

impl Reply {
    /// Whether it is `true` (an accepted share, a granted authorization).
    pub fn is_true(&self) -> bool {
        self.0 == Value::Bool(true)
    }

    /// The result read as `mining.subscribe`'s.
    pub fn subscription(&self) -> Result<Subscription, ProtocolError> {
        Subscription::from_result(&self.0)
    }

    /// The result read as `mining.configure`'s: the version-rolling mask
    /// granted, or `None` when declined.
    pub fn granted_mask(&self) -> Result<Option<u32>, ProtocolError> {
        granted_mask(&self.0)
    }

    /// The result as text for a message, at most `max` characters.
    pub fn describe(&self, max: usize) -> String {
        clip(&self.0.to_string(), max)
    }
}

/// One line from the pool, parsed into what it means: the only shape of
/// the pool's messages that leaves this module.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The answer to one of our requests.
    Response {
        /// Our request's id.
        id: u64,
        /// The result (`null` on error).
        result: Reply,
        /// The pool's error, if any.
        error: Option<RpcError>,
    },
    /// `mining.notify`: a new job.
    Notify(Notify),
    /// `mining.set_difficulty`: the share difficulty from the next job on.
    SetDifficulty(f64),
    /// `mining.set_extranonce`: extranonce1 and the extranonce2 size from
    /// the next job on.
    SetExtranonce(Vec<u8>, usize),
    /// `mining.set_version_mask`: the version bits that may be rolled now.
    SetVersionMask(u32),
    /// `client.reconnect`.
    Reconnect(Reconnect),
    /// `client.show_message`, its text clipped.
    ShowMessage(String),
    /// `client.get_version`: the pool asks for the user agent.
    GetVersion(RequestId),
    /// `mining.ping`.
    Ping(RequestId),
    /// A request hashrig does not serve (it gets an error reply).
    UnknownRequest {
        /// The id to answer.
        id: RequestId,
        /// The method, clipped.
        method: String,
    },
    /// A notification hashrig does not know (it is ignored).
    UnknownNotification(String),
}

impl ServerMessage {
    /// Parses one line (without its newline): the envelope, then the
    /// params of the method it names.
    pub fn parse(line: &str) -> Result<ServerMessage, ProtocolError> {
        match Incoming::parse(line)? {
            Incoming::Response { id, result, error } => Ok(ServerMessage::Response {
                id,
                result: Reply(result),
                error,
            }),
            Incoming::Call { id, method, params } => ServerMessage::call(id, method, &params),
        }
    }

    fn call(
        id: Option<Value>,
        method: String,
        params: &Value,
    ) -> Result<ServerMessage, ProtocolError> {
        Ok(match method.as_str() {
            "mining.notify" => ServerMessage::Notify(Notify::from_params(params)?),
            "mining.set_difficulty" => {
                ServerMessage::SetDifficulty(difficulty_from_params(params)?)
            }
            "mining.set_extranonce" => {
                let (en1, size) = extranonce_from_params(params)?;
                ServerMessage::SetExtranonce(en1, size)
            }
            "mining.set_version_mask" => {
                ServerMessage::SetVersionMask(version_mask_from_params(params)?)
            }
            "client.reconnect" => ServerMessage::Reconnect(Reconnect::from_params(params)?),
            "client.show_message" => ServerMessage::ShowMessage(
                params
                    .as_array()
                    .and_then(|p| p.first())
                    .map(|v| clip(v.as_str().unwrap_or(&v.to_string()), 500))
                    .unwrap_or_default(),
            ),
            _ => match id {
                Some(id) => {
                    let id = RequestId(id);
                    match method.as_str() {
                        "client.get_version" => ServerMessage::GetVersion(id),
                        "mining.ping" => ServerMessage::Ping(id),
                        _ => ServerMessage::UnknownRequest { id, method },
                    }
                }
                // A request without an id cannot be answered.
                None => ServerMessage::UnknownNotification(method),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::envelope::hex_u32;
    use super::*;

    #[test]
    fn server_lines_become_typed_messages() {
        let parse = |line: &str| ServerMessage::parse(line).unwrap();
        assert_eq!(
            parse(r#"{"id":null,"method":"mining.set_difficulty","params":[0.5]}"#),
            ServerMessage::SetDifficulty(0.5)
        );
        assert_eq!(
            parse(r#"{"id":null,"method":"mining.set_extranonce","params":["f000",4]}"#),
            ServerMessage::SetExtranonce(vec![0xf0, 0], 4)
        );
        assert_eq!(
            parse(r#"{"method":"mining.set_version_mask","params":["1fffe000"]}"#),
            ServerMessage::SetVersionMask(0x1fff_e000)
        );
        assert_eq!(
            parse(r#"{"id":null,"method":"client.show_message","params":["hi\nthere"]}"#),
            ServerMessage::ShowMessage("hi there".into())
        );
        let ServerMessage::Ping(id) = parse(r#"{"id":7,"method":"mining.ping","params":[]}"#)
        else {
            panic!("a ping")
        };
        let reply: Value = serde_json::from_str(&id.reply("pong")).unwrap();
        assert_eq!(reply, json!({"id": 7, "result": "pong", "error": null}));
        let ServerMessage::UnknownRequest { id, method } =
            parse(r#"{"id":"x","method":"mining.frobnicate"}"#)
        else {
            panic!("an unknown request")
        };
        assert_eq!(method, "mining.frobnicate");
        assert!(id
            .refuse(20, "unsupported method")
            .contains("[20,\"unsupported method\",null]"));
        assert_eq!(
            parse(r#"{"method":"mining.ping"}"#),
            ServerMessage::UnknownNotification("mining.ping".into())
        );
        let ServerMessage::Response { id, result, error } =
            parse(r#"{"id":101,"result":true,"error":null}"#)
        else {
            panic!("a response")
        };
        assert_eq!((id, result.is_true(), error), (101, true, None));
        // A known method with bad params is an error naming the method.
        let e =
            ServerMessage::parse(r#"{"method":"mining.set_difficulty","params":[0]}"#).unwrap_err();
        assert!(e.to_string().starts_with("mining.set_difficulty"), "{e}");
    }

    #[test]
    fn subscribe_shapes() {
        let nested = json!([
            [["mining.set_difficulty", "a"], ["mining.notify", "b"]],
            "f000",
            4
        ]);
        let s = Subscription::from_result(&nested).unwrap();
        assert_eq!(s.session_id.as_deref(), Some("b"));
        assert_eq!(s.extranonce1, vec![0xf0, 0]);
        assert_eq!(s.extranonce2_size, 4);
        let flat = json!([["mining.notify", "c"], "", 8]);
        let s = Subscription::from_result(&flat).unwrap();
        assert_eq!(s.session_id.as_deref(), Some("c"));
        assert!(s.extranonce1.is_empty());
        let none = json!([null, "01", 16]);
        assert_eq!(Subscription::from_result(&none).unwrap().session_id, None);
        for size in [0, 17, 100] {
            assert!(Subscription::from_result(&json!([null, "01", size])).is_err());
        }
        assert!(Subscription::from_result(&json!([null, "01", -1])).is_err());
        assert!(Subscription::from_result(&json!([null, "zz", 4])).is_err());
    }

    #[test]
    fn difficulties() {
        assert_eq!(difficulty_from_params(&json!([0.5])).unwrap(), 0.5);
        assert_eq!(difficulty_from_params(&json!([65536])).unwrap(), 65536.0);
        for bad in [
            json!([0]),
            json!([-1]),
            json!(["1"]),
            json!([]),
            json!(null),
        ] {
            assert!(difficulty_from_params(&bad).is_err(), "{bad}");
        }
        // A difficulty so high that its target is zero cannot be met
        // (1e999 and NaN are not JSON at all).
        assert!(difficulty_from_params(&json!([1e300])).is_err());
        assert!(difficulty_from_params(&json!([1e12])).is_ok());
    }

    #[test]
    fn hex_words_need_not_be_padded() {
        assert_eq!(hex_u32("m", "v", "4").unwrap(), 4);
        assert_eq!(hex_u32("m", "v", "20000004").unwrap(), 0x2000_0004);
        assert!(hex_u32("m", "v", "120000004").is_err());
        assert!(hex_u32("m", "v", "").is_err());
        assert!(hex_u32("m", "v", "-1").is_err());
    }

    #[test]
    fn submit_round_trip() {
        let s = Submit {
            worker: "w".into(),
            job_id: "j".into(),
            extranonce2: vec![0, 1],
            ntime: 0x64,
            nonce: 0xdead,
            version_bits: Some(0x2000),
        };
        assert_eq!(
            s.params(),
            json!(["w", "j", "0001", "00000064", "0000dead", "00002000"])
        );
        assert_eq!(Submit::from_params(&s.params()).unwrap(), s);
    }

    #[test]
    fn responses_and_calls() {
        let r =
            Incoming::parse(r#"{"id":3,"result":null,"error":[23,"Low difficulty share",null]}"#)
                .unwrap();
        assert_eq!(
            r,
            Incoming::Response {
                id: 3,
                result: Value::Null,
                error: Some(RpcError {
                    code: Some(23),
                    message: "Low difficulty share".into()
                })
            }
        );
        let c = Incoming::parse(r#"{"id":null,"method":"mining.set_difficulty","params":[2]}"#)
            .unwrap();
        assert!(matches!(c, Incoming::Call { id: None, .. }));
        assert!(Incoming::parse("[1,2]").is_err());
        assert!(Incoming::parse("{\"id\":\"x\",\"result\":true}").is_err());
        assert!(Incoming::parse("\u{0}\u{1}garbage").is_err());
    }
}
