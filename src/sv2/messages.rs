//! The Stratum V2 messages a mining device exchanges with a pool, typed at
//! the edge: [`Incoming::parse`] decodes a frame with SRI's own message
//! types (`common_messages_sv2`, `mining_sv2`) and keeps only owned values,
//! checked (a zero target, a bad length, an unknown type are named, never a
//! panic); the builders below encode what the device sends.

use binary_sv2::{Str0255, B032, U256};
use common_messages_sv2::{
    Protocol, Reconnect, SetupConnection, SetupConnectionError, SetupConnectionSuccess,
};
use mining_sv2::{
    CloseChannel, NewExtendedMiningJob, NewMiningJob, OpenExtendedMiningChannel,
    OpenExtendedMiningChannelSuccess, OpenMiningChannelError, OpenStandardMiningChannel,
    OpenStandardMiningChannelSuccess, SetExtranoncePrefix, SetGroupChannel, SetNewPrevHash,
    SetTarget, SubmitSharesError, SubmitSharesExtended, SubmitSharesStandard, SubmitSharesSuccess,
    UpdateChannel, UpdateChannelError,
};

use super::transport::Frame;
use crate::Target;

/// `SetupConnection` flag (mining protocol): the device takes only
/// standard jobs (a merkle root, no coinbase).
pub const REQUIRES_STANDARD_JOBS: u32 = 1;
/// `SetupConnection` flag (mining protocol): the device rolls version bits.
pub const REQUIRES_VERSION_ROLLING: u32 = 1 << 2;
/// `SetupConnection.Success` flag: the version field must not change.
pub const REQUIRES_FIXED_VERSION: u32 = 1;
/// `SetupConnection.Success` flag: only extended channels are served.
pub const REQUIRES_EXTENDED_CHANNELS: u32 = 1 << 1;

/// A message from the pool.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// The connection is set up.
    SetupSuccess {
        /// The protocol version in use.
        used_version: u16,
        /// The server's flags.
        flags: u32,
    },
    /// The connection was refused.
    SetupError {
        /// The flags the server does not support.
        flags: u32,
        /// Why.
        code: String,
    },
    /// A standard channel is open.
    StandardOpened {
        /// The request it answers.
        request_id: u32,
        /// The channel.
        channel_id: u32,
        /// The share target.
        target: Target,
        /// The channel's extranonce (the whole coinbase extranonce when
        /// the server sends extended jobs for it).
        extranonce_prefix: Vec<u8>,
        /// The group the channel is in.
        group_channel_id: u32,
    },
    /// An extended channel is open.
    ExtendedOpened {
        /// The request it answers.
        request_id: u32,
        /// The channel.
        channel_id: u32,
        /// The share target.
        target: Target,
        /// How many extranonce bytes the device rolls.
        extranonce_size: u16,
        /// The pool's part of the extranonce.
        extranonce_prefix: Vec<u8>,
        /// The group the channel is in.
        group_channel_id: u32,
    },
    /// A channel was not opened.
    OpenError {
        /// The request it answers.
        request_id: u32,
        /// Why.
        code: String,
    },
    /// A job with its merkle root (standard channels).
    Job(StandardJob),
    /// A job with its coinbase halves and merkle path.
    ExtendedJob(ExtendedJob),
    /// The new block to build on: activates job `job_id`.
    PrevHash(PrevHash),
    /// The share target from the next share on.
    SetTarget {
        /// The channel.
        channel_id: u32,
        /// The target.
        target: Target,
    },
    /// Shares up to a sequence number accepted.
    SubmitSuccess {
        /// The channel.
        channel_id: u32,
        /// The last share covered.
        last_sequence_number: u32,
        /// How many shares since the last success were accepted.
        accepted: u32,
        /// Their difficulty summed.
        shares_sum: u64,
    },
    /// One share rejected.
    SubmitError {
        /// The channel.
        channel_id: u32,
        /// The share.
        sequence_number: u32,
        /// Why (`invalid-share`, `stale-share`, …).
        code: String,
    },
    /// The channel's new nominal rate or target was refused.
    UpdateError {
        /// The channel.
        channel_id: u32,
        /// Why.
        code: String,
    },
    /// A new extranonce prefix for the channel (from its next job on).
    ExtranoncePrefix {
        /// The channel.
        channel_id: u32,
        /// The prefix.
        prefix: Vec<u8>,
    },
    /// The channel is closed.
    CloseChannel {
        /// The channel.
        channel_id: u32,
        /// Why.
        reason: String,
    },
    /// Channels joined into a group.
    GroupChannel {
        /// The group.
        group_channel_id: u32,
        /// Its channels.
        channel_ids: Vec<u32>,
    },
    /// Reconnect elsewhere (an empty host: the same one).
    Reconnect {
        /// The host.
        host: String,
        /// The port (0: the same one).
        port: u16,
    },
    /// A message hashrig does not act on (extensions, other protocols).
    Other {
        /// The extension.
        extension: u16,
        /// The message type.
        msg_type: u8,
    },
}

/// A job for a standard channel: the header's fields but the time, the
/// previous hash and the bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandardJob {
    /// The channel.
    pub channel_id: u32,
    /// The job.
    pub job_id: u32,
    /// For the current block (`Some`: mine it now, at least this time) or
    /// a future one (`None`: mine it once its `SetNewPrevHash` comes).
    pub min_ntime: Option<u32>,
    /// The block version.
    pub version: u32,
    /// The merkle root in the header's byte order.
    pub merkle_root: [u8; 32],
}

/// A job for an extended (or group) channel: the coinbase around the
/// extranonce, and the merkle path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedJob {
    /// The channel (or group).
    pub channel_id: u32,
    /// The job.
    pub job_id: u32,
    /// As for [`StandardJob::min_ntime`].
    pub min_ntime: Option<u32>,
    /// The block version.
    pub version: u32,
    /// Whether the version bits may be rolled.
    pub version_rolling_allowed: bool,
    /// The merkle path of the coinbase, in internal byte order.
    pub merkle_path: Vec<[u8; 32]>,
    /// The coinbase before the extranonce.
    pub coinbase_prefix: Vec<u8>,
    /// The coinbase after the extranonce.
    pub coinbase_suffix: Vec<u8>,
}

/// `SetNewPrevHash` (mining protocol).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrevHash {
    /// The channel (or group).
    pub channel_id: u32,
    /// The job it activates.
    pub job_id: u32,
    /// The previous block's hash in the header's byte order.
    pub prev_hash: [u8; 32],
    /// The earliest time a header may have.
    pub min_ntime: u32,
    /// The network target, compact.
    pub nbits: u32,
}

/// Why a frame is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message 0x{msg_type:02x}: {why}")]
pub struct ParseError {
    /// The message type.
    pub msg_type: u8,
    /// What is wrong.
    pub why: String,
}

fn target_of(msg_type: u8, u: &U256<'_>) -> Result<Target, ParseError> {
    let target = Target::from_le_bytes(u.to_array());
    if target.is_zero() {
        return Err(ParseError {
            msg_type,
            why: "a target of zero (no hash can meet it)".into(),
        });
    }
    Ok(target)
}

fn text(s: &Str0255<'_>) -> String {
    s.as_utf8_or_hex()
}

impl Incoming {
    /// Decodes a frame from the pool.
    pub fn parse(frame: &Frame) -> Result<Incoming, ParseError> {
        use common_messages_sv2 as c;
        use mining_sv2 as m;
        let msg_type = frame.msg_type;
        if frame.extension != 0 {
            return Ok(Incoming::Other {
                extension: frame.extension,
                msg_type,
            });
        }
        let mut payload = frame.payload.clone();
        let bad = |e: binary_sv2::Error| ParseError {
            msg_type,
            why: format!("does not decode ({e:?})"),
        };
        let data = &mut payload[..];
        Ok(match msg_type {
            c::MESSAGE_TYPE_SETUP_CONNECTION_SUCCESS => {
                let s: SetupConnectionSuccess = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::SetupSuccess {
                    used_version: s.used_version,
                    flags: s.flags,
                }
            }
            c::MESSAGE_TYPE_SETUP_CONNECTION_ERROR => {
                let s: SetupConnectionError = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::SetupError {
                    flags: s.flags,
                    code: text(&s.error_code),
                }
            }
            c::MESSAGE_TYPE_RECONNECT => {
                let r: Reconnect = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::Reconnect {
                    host: text(&r.new_host),
                    port: r.new_port,
                }
            }
            m::MESSAGE_TYPE_OPEN_STANDARD_MINING_CHANNEL_SUCCESS => {
                let s: OpenStandardMiningChannelSuccess =
                    binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::StandardOpened {
                    request_id: s.request_id,
                    channel_id: s.channel_id,
                    target: target_of(msg_type, &s.target)?,
                    extranonce_prefix: s.extranonce_prefix.as_bytes().to_vec(),
                    group_channel_id: s.group_channel_id,
                }
            }
            m::MESSAGE_TYPE_OPEN_EXTENDED_MINING_CHANNEL_SUCCESS => {
                let s: OpenExtendedMiningChannelSuccess =
                    binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::ExtendedOpened {
                    request_id: s.request_id,
                    channel_id: s.channel_id,
                    target: target_of(msg_type, &s.target)?,
                    extranonce_size: s.extranonce_size,
                    extranonce_prefix: s.extranonce_prefix.as_bytes().to_vec(),
                    group_channel_id: s.group_channel_id,
                }
            }
            m::MESSAGE_TYPE_OPEN_MINING_CHANNEL_ERROR => {
                let s: OpenMiningChannelError = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::OpenError {
                    request_id: s.request_id,
                    code: text(&s.error_code),
                }
            }
            m::MESSAGE_TYPE_NEW_MINING_JOB => {
                let j: NewMiningJob = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::Job(StandardJob {
                    channel_id: j.channel_id,
                    job_id: j.job_id,
                    min_ntime: j.min_ntime.into_inner(),
                    version: j.version,
                    merkle_root: j.merkle_root.to_array(),
                })
            }
            m::MESSAGE_TYPE_NEW_EXTENDED_MINING_JOB => {
                let j: NewExtendedMiningJob = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::ExtendedJob(ExtendedJob {
                    channel_id: j.channel_id,
                    job_id: j.job_id,
                    min_ntime: j.min_ntime.into_inner(),
                    version: j.version,
                    version_rolling_allowed: j.version_rolling_allowed,
                    merkle_path: j
                        .merkle_path
                        .into_inner()
                        .into_iter()
                        .map(|h| h.to_array())
                        .collect(),
                    coinbase_prefix: j.coinbase_tx_prefix.as_bytes().to_vec(),
                    coinbase_suffix: j.coinbase_tx_suffix.as_bytes().to_vec(),
                })
            }
            m::MESSAGE_TYPE_MINING_SET_NEW_PREV_HASH => {
                let p: SetNewPrevHash = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::PrevHash(PrevHash {
                    channel_id: p.channel_id,
                    job_id: p.job_id,
                    prev_hash: p.prev_hash.to_array(),
                    min_ntime: p.min_ntime,
                    nbits: p.nbits,
                })
            }
            m::MESSAGE_TYPE_SET_TARGET => {
                let t: SetTarget = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::SetTarget {
                    channel_id: t.channel_id,
                    target: target_of(msg_type, &t.maximum_target)?,
                }
            }
            m::MESSAGE_TYPE_SUBMIT_SHARES_SUCCESS => {
                let s: SubmitSharesSuccess = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::SubmitSuccess {
                    channel_id: s.channel_id,
                    last_sequence_number: s.last_sequence_number,
                    accepted: s.new_submits_accepted_count,
                    shares_sum: s.new_shares_sum,
                }
            }
            m::MESSAGE_TYPE_SUBMIT_SHARES_ERROR => {
                let s: SubmitSharesError = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::SubmitError {
                    channel_id: s.channel_id,
                    sequence_number: s.sequence_number,
                    code: text(&s.error_code),
                }
            }
            m::MESSAGE_TYPE_UPDATE_CHANNEL_ERROR => {
                let s: UpdateChannelError = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::UpdateError {
                    channel_id: s.channel_id,
                    code: text(&s.error_code),
                }
            }
            m::MESSAGE_TYPE_SET_EXTRANONCE_PREFIX => {
                let s: SetExtranoncePrefix = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::ExtranoncePrefix {
                    channel_id: s.channel_id,
                    prefix: s.extranonce_prefix.as_bytes().to_vec(),
                }
            }
            m::MESSAGE_TYPE_CLOSE_CHANNEL => {
                let s: CloseChannel = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::CloseChannel {
                    channel_id: s.channel_id,
                    reason: text(&s.reason_code),
                }
            }
            m::MESSAGE_TYPE_SET_GROUP_CHANNEL => {
                let s: SetGroupChannel = binary_sv2::from_bytes(data).map_err(bad)?;
                Incoming::GroupChannel {
                    group_channel_id: s.group_channel_id,
                    channel_ids: s.channel_ids.into_inner(),
                }
            }
            _ => Incoming::Other {
                extension: 0,
                msg_type,
            },
        })
    }
}

fn frame_of<T: binary_sv2::Serialize + binary_sv2::GetSize>(
    msg: T,
    msg_type: u8,
    channel_msg: bool,
) -> Frame {
    Frame {
        extension: 0,
        channel_msg,
        msg_type,
        payload: binary_sv2::to_bytes(msg).expect("hashrig's messages are within bounds"),
    }
}

/// Cuts `s` to at most 255 bytes at a character boundary (a `Str0255`).
fn str0255(s: &str) -> Str0255<'_> {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Str0255::try_from(&s[..end]).expect("255 bytes at most")
}

/// A target's little-endian bytes, as a `U256` carries them.
fn le(target: &Target) -> [u8; 32] {
    let mut le = target.to_be_bytes();
    le.reverse();
    le
}

/// What a device says about itself in `SetupConnection`.
#[derive(Clone, Debug)]
pub struct Device<'a> {
    /// The host the device connects to, as it was given.
    pub endpoint_host: &'a str,
    /// The port.
    pub endpoint_port: u16,
    /// The vendor (`hashrig`).
    pub vendor: &'a str,
    /// The hardware.
    pub hardware: &'a str,
    /// The firmware (hashrig's version).
    pub firmware: &'a str,
    /// The device id.
    pub device_id: &'a str,
}

/// `SetupConnection` for the mining protocol, version 2, with `flags`.
pub fn setup_connection(flags: u32, device: &Device<'_>) -> Frame {
    let msg = SetupConnection {
        protocol: Protocol::MiningProtocol,
        min_version: 2,
        max_version: 2,
        flags,
        endpoint_host: str0255(device.endpoint_host),
        endpoint_port: device.endpoint_port,
        vendor: str0255(device.vendor),
        hardware_version: str0255(device.hardware),
        firmware: str0255(device.firmware),
        device_id: str0255(device.device_id),
    };
    frame_of(
        msg,
        common_messages_sv2::MESSAGE_TYPE_SETUP_CONNECTION,
        false,
    )
}

/// `OpenStandardMiningChannel`.
pub fn open_standard(request_id: u32, user: &str, hash_rate: f32, max_target: &Target) -> Frame {
    let max = le(max_target);
    let msg = OpenStandardMiningChannel {
        request_id,
        user_identity: str0255(user),
        nominal_hash_rate: hash_rate,
        max_target: U256::from(&max),
    };
    frame_of(
        msg,
        mining_sv2::MESSAGE_TYPE_OPEN_STANDARD_MINING_CHANNEL,
        false,
    )
}

/// `OpenExtendedMiningChannel`.
pub fn open_extended(
    request_id: u32,
    user: &str,
    hash_rate: f32,
    max_target: &Target,
    min_extranonce_size: u16,
) -> Frame {
    let max = le(max_target);
    let msg = OpenExtendedMiningChannel {
        request_id,
        user_identity: str0255(user),
        nominal_hash_rate: hash_rate,
        max_target: U256::from(&max),
        min_extranonce_size,
    };
    frame_of(
        msg,
        mining_sv2::MESSAGE_TYPE_OPEN_EXTENDED_MINING_CHANNEL,
        false,
    )
}

/// A share's header fields, as both submit messages carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareFields {
    /// The channel.
    pub channel_id: u32,
    /// The share's sequence number in the channel.
    pub sequence_number: u32,
    /// The job.
    pub job_id: u32,
    /// The nonce.
    pub nonce: u32,
    /// The header's time.
    pub ntime: u32,
    /// The header's whole version.
    pub version: u32,
}

/// `SubmitSharesStandard`.
pub fn submit_standard(s: &ShareFields) -> Frame {
    let msg = SubmitSharesStandard {
        channel_id: s.channel_id,
        sequence_number: s.sequence_number,
        job_id: s.job_id,
        nonce: s.nonce,
        ntime: s.ntime,
        version: s.version,
    };
    frame_of(msg, mining_sv2::MESSAGE_TYPE_SUBMIT_SHARES_STANDARD, true)
}

/// `SubmitSharesExtended` with the device's `extranonce` (at most 32
/// bytes).
pub fn submit_extended(s: &ShareFields, extranonce: &[u8]) -> Frame {
    let msg = SubmitSharesExtended {
        channel_id: s.channel_id,
        sequence_number: s.sequence_number,
        job_id: s.job_id,
        nonce: s.nonce,
        ntime: s.ntime,
        version: s.version,
        extranonce: B032::new(&extranonce[..extranonce.len().min(32)]).expect("32 bytes at most"),
    };
    frame_of(msg, mining_sv2::MESSAGE_TYPE_SUBMIT_SHARES_EXTENDED, true)
}

/// `UpdateChannel`: the device's new nominal rate.
pub fn update_channel(channel_id: u32, hash_rate: f32, max_target: &Target) -> Frame {
    let max = le(max_target);
    let msg = UpdateChannel {
        channel_id,
        nominal_hash_rate: hash_rate,
        maximum_target: U256::from(&max),
    };
    frame_of(msg, mining_sv2::MESSAGE_TYPE_UPDATE_CHANNEL, true)
}

/// `CloseChannel`.
pub fn close_channel(channel_id: u32, reason: &str) -> Frame {
    let msg = CloseChannel {
        channel_id,
        reason_code: str0255(reason),
    };
    frame_of(msg, mining_sv2::MESSAGE_TYPE_CLOSE_CHANNEL, true)
}
