//! Pool addresses as miners write them: `stratum+tcp://user:pass@host:port`,
//! `stratum+ssl://` or `stratum+tls://` for TLS, and a `#xnsub` suffix to
//! opt in to `mining.set_extranonce`; Stratum V2 as
//! `stratum2+tcp://host:port/AUTHORITY_KEY` (Braiins OS's and SRI's form).

use std::fmt;
use std::str::FromStr;

use super::key::AuthorityKey;
use crate::{Error, PoolError};

/// Which Stratum a pool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Stratum v1 (JSON lines, plain or TLS).
    V1,
    /// Stratum V2 (binary, Noise NX), with the pool's authority key when
    /// the URL names one (without, the server is not authenticated).
    V2 {
        /// The key the pool's certificates must be signed by.
        authority_key: Option<AuthorityKey>,
    },
}

/// A parsed pool URL.
#[derive(Clone, PartialEq, Eq)]
pub struct PoolUrl {
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The host name or address (IPv6 without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The user from `user:pass@`, if given.
    pub user: Option<String>,
    /// The password from `user:pass@`, if given.
    pub pass: Option<String>,
    /// Whether `mining.extranonce.subscribe` is sent (`#xnsub`).
    pub extranonce_subscribe: bool,
    /// The protocol.
    pub version: Version,
}

impl PoolUrl {
    /// `host:port` as `TcpStream::connect` takes it.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Shown without the password, so that logs and the API never leak it.
impl fmt::Display for PoolUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Version::V2 { authority_key } = &self.version {
            write!(f, "stratum2+tcp://{}", self.address())?;
            if let Some(k) = authority_key {
                write!(f, "/{k}")?;
            }
            return Ok(());
        }
        let scheme = if self.tls {
            "stratum+ssl"
        } else {
            "stratum+tcp"
        };
        write!(f, "{scheme}://{}", self.address())?;
        if self.extranonce_subscribe {
            f.write_str("#xnsub")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PoolUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PoolUrl({self})")
    }
}

impl FromStr for PoolUrl {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let fail = |why: &str| {
            Error::Pool(PoolError::Url {
                kind: "pool",
                url: redact(text),
                reason: why.to_string(),
            })
        };
        let t = text.trim();
        let (scheme, rest) = t
            .split_once("://")
            .ok_or_else(|| fail("no scheme (stratum+tcp://, stratum+ssl://, stratum2+tcp://)"))?;
        let (tls, v2) = match scheme.to_ascii_lowercase().as_str() {
            "stratum+tcp" | "stratum" | "tcp" => (false, false),
            "stratum+ssl" | "stratum+tls" | "ssl" | "tls" => (true, false),
            "stratum2+tcp" | "stratum2" => (false, true),
            _ => return Err(fail("an unknown scheme")),
        };
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        let extranonce_subscribe = match fragment {
            None => false,
            Some("xnsub") if !v2 => true,
            Some(_) if v2 => return Err(fail("a #suffix (a Stratum V2 URL has none)")),
            Some(_) => return Err(fail("an unknown #suffix (only #xnsub)")),
        };
        let mut rest = rest.trim_end_matches('/');
        let mut version = Version::V1;
        if v2 {
            let (before, key) = match rest.rsplit_once('/') {
                Some((b, k)) if !b.ends_with(']') || b.contains('[') => (b, Some(k)),
                _ => (rest, None),
            };
            let authority_key = match key {
                Some(k) => Some(
                    k.parse::<AuthorityKey>()
                        .map_err(|e| fail(&format!("an authority key that is not one ({e})")))?,
                ),
                None => None,
            };
            version = Version::V2 { authority_key };
            rest = before;
        }
        let (credentials, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (user, pass) = match credentials {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(c.to_string()), None),
            },
            None => (None, None),
        };
        if hostport.contains('/') {
            return Err(fail(if v2 {
                "more than the authority key after host:port"
            } else {
                "a path after host:port (a Stratum v1 URL has none)"
            }));
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or_else(|| fail("an unclosed '['"))?;
            (h, p.strip_prefix(':').ok_or_else(|| fail("no port"))?)
        } else {
            hostport.rsplit_once(':').ok_or_else(|| fail("no port"))?
        };
        if !usable_host(host, hostport.starts_with('[')) {
            return Err(fail("a bad host"));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| fail("a port that is not 1 to 65535"))?;
        Ok(PoolUrl {
            tls,
            host: host.to_string(),
            port,
            user,
            pass,
            extranonce_subscribe,
            version,
        })
    }
}

/// The URL with any password replaced, for error messages.
/// Whether `host` (found in brackets or not) is one that prints as a URL
/// again: an IPv6 address (with its ':') only in brackets, and no
/// character that ends or splits a URL.
pub(crate) fn usable_host(host: &str, bracketed: bool) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && !host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/@[]#?".contains(c))
        && (bracketed || !host.contains(':'))
}

fn redact(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &text[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &text[..s + 3], &text[at..]),
                None => text.to_string(),
            }
        }
        _ => text.to_string(),
    }
}

/// A pool to mine on: where, and who we are there.
#[derive(Clone, PartialEq, Eq)]
pub struct Pool {
    /// The address.
    pub url: PoolUrl,
    /// The worker name for `mining.authorize` and `mining.submit`.
    pub user: String,
    /// The password (often `x`, or options such as `d=1024`).
    pub pass: String,
}

impl Pool {
    /// A pool from a URL and credentials; credentials in the URL win.
    pub fn new(url: PoolUrl, user: Option<&str>, pass: Option<&str>) -> Result<Pool, Error> {
        let user = url
            .user
            .clone()
            .or(user.map(str::to_string))
            .filter(|u| !u.is_empty())
            .ok_or_else(|| PoolError::NoUser(url.to_string()))?;
        let pass = url
            .pass
            .clone()
            .or(pass.map(str::to_string))
            .unwrap_or_else(|| "x".to_string());
        Ok(Pool { url, user, pass })
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pool({} as {})", self.url, self.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_miners_use() {
        let u: PoolUrl = "stratum+tcp://solo.ckpool.org:3333".parse().unwrap();
        assert!(!u.tls);
        assert_eq!(u.address(), "solo.ckpool.org:3333");
        let u: PoolUrl = "stratum+ssl://bc1q.w:secret@pool.example:443#xnsub"
            .parse()
            .unwrap();
        assert!(u.tls && u.extranonce_subscribe);
        assert_eq!(u.user.as_deref(), Some("bc1q.w"));
        assert_eq!(u.pass.as_deref(), Some("secret"));
        assert_eq!(u.to_string(), "stratum+ssl://pool.example:443#xnsub");
        let u: PoolUrl = "stratum+tls://[::1]:3334".parse().unwrap();
        assert_eq!(u.address(), "[::1]:3334");
        for bad in [
            "pool:3333",
            "http://pool:3333",
            "stratum+tcp://pool",
            "stratum+tcp://pool:0",
            "stratum+tcp://pool:70000",
            "stratum+tcp://:3333",
            "stratum+tcp://pool:3333#other",
            // Found by fuzzing: a host with ':' and ']' outside brackets
            // printed as a URL that did not parse again.
            "stratum2://:61.0.0]:3",
            "stratum+tcp://a:b:3333",
            "stratum+tcp://[::1]]:3333",
            "stratum+tcp://po ol:3333",
        ] {
            assert!(bad.parse::<PoolUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_path_is_named_as_such_not_as_a_bad_port() {
        let e = "stratum+tcp://pool.example.com:3333/worker"
            .parse::<PoolUrl>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("a path after host:port"), "{e}");
        // A trailing slash alone is fine.
        assert!("stratum+tcp://pool.example.com:3333/"
            .parse::<PoolUrl>()
            .is_ok());
    }

    #[test]
    fn stratum_v2_urls_carry_the_authority_key() {
        const KEY: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
        let u: PoolUrl = format!("stratum2+tcp://pool.example:34254/{KEY}")
            .parse()
            .unwrap();
        assert_eq!(u.address(), "pool.example:34254");
        assert_eq!(
            u.version,
            Version::V2 {
                authority_key: Some(KEY.parse().unwrap())
            }
        );
        assert_eq!(
            u.to_string(),
            format!("stratum2+tcp://pool.example:34254/{KEY}")
        );
        let u: PoolUrl = format!("stratum2+tcp://me.w1@[::1]:3333/{KEY}")
            .parse()
            .unwrap();
        assert_eq!((u.host.as_str(), u.user.as_deref()), ("::1", Some("me.w1")));
        let u: PoolUrl = "stratum2+tcp://127.0.0.1:3333".parse().unwrap();
        assert_eq!(
            u.version,
            Version::V2 {
                authority_key: None
            }
        );
        let bad_key =
            "stratum2+tcp://pool:3333/9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH73"
                .parse::<PoolUrl>()
                .unwrap_err()
                .to_string();
        assert!(bad_key.contains("checksum"), "{bad_key}");
        for bad in [
            format!("stratum2+tcp://pool:3333/x/{KEY}"),
            format!("stratum2+tcp://pool:3333/{KEY}#xnsub"),
            format!("stratum2+tcp://pool/{KEY}"),
        ] {
            assert!(bad.parse::<PoolUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_do_not_show_passwords() {
        let e = "stratum+tcp://me:hunter2@pool"
            .parse::<PoolUrl>()
            .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
