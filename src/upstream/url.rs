//! Any upstream's URL, read by its scheme: the one place that decides
//! what a URL names. Stratum v1 and V2 pools (`stratum+tcp://`,
//! `stratum+ssl://`, `stratum2+tcp://`) are [`PoolUrl`]s, nodes
//! (`http://`) [`NodeUrl`]s.

use std::fmt;
use std::str::FromStr;

use crate::node::NodeUrl;
use crate::pool::PoolUrl;
use crate::Error;

/// An upstream's URL: a pool's or a node's.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum UpstreamUrl {
    /// A Stratum v1 or V2 pool.
    Pool(PoolUrl),
    /// A node, for solo mining.
    Node(NodeUrl),
}

impl FromStr for UpstreamUrl {
    type Err = Error;

    fn from_str(text: &str) -> Result<UpstreamUrl, Error> {
        let scheme = text.trim_start().split("://").next().unwrap_or("");
        if scheme.eq_ignore_ascii_case("http") {
            Ok(UpstreamUrl::Node(text.parse()?))
        } else {
            Ok(UpstreamUrl::Pool(text.parse()?))
        }
    }
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamUrl::Pool(u) => u.fmt(f),
            UpstreamUrl::Node(u) => u.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_says_which_protocol() {
        let v1: UpstreamUrl = "stratum+tcp://pool.example:3333".parse().unwrap();
        assert!(matches!(v1, UpstreamUrl::Pool(_)));
        let v2: UpstreamUrl = "stratum2+tcp://pool.example:3336".parse().unwrap();
        assert!(matches!(v2, UpstreamUrl::Pool(_)));
        let node: UpstreamUrl = "http://127.0.0.1:8332".parse().unwrap();
        assert!(matches!(&node, UpstreamUrl::Node(n) if n.port == 8332));
        assert_eq!(node.to_string(), "http://127.0.0.1:8332");
        assert!("ftp://pool.example:3333".parse::<UpstreamUrl>().is_err());
        assert!("http://".parse::<UpstreamUrl>().is_err());
    }
}
