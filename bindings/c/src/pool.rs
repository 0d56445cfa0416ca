//! Pool mining from C: start on one pool or node, or on a failover list
//! of them, read their statistics, free.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use super::{
    engine_options, guard, null, text, HashrigEngine, HashrigOptions, HASHRIG_ERR_ARGUMENT,
    HASHRIG_ERR_DEVICE, HASHRIG_OK,
};
use hashrig::engine::Engine;
use hashrig::node::address::script_for;
use hashrig::node::{Auth, Network, Node};
use hashrig::stratum::{Pool, PoolMiner, PoolState};
use hashrig::upstream::{PoolOptions, Upstream, UpstreamUrl};

/// A pool miner behind a `hashrig_pool_miner *`.
pub struct HashrigPoolMiner {
    /// The engine, for `hashrig_device_stats_get`.
    engine: HashrigEngine,
    miner: PoolMiner,
}

/// A pool's statistics as C sees them (`hashrig_pool_stats`).
#[repr(C)]
pub struct HashrigPoolStats {
    /// NUL-terminated URL, without password.
    pub url: [c_char; 256],
    /// `HASHRIG_POOL_*`.
    pub state: i32,
    /// The pool's last difficulty (0 before it sets one).
    pub difficulty: f64,
    /// Accepted shares.
    pub accepted: u64,
    /// Rejected shares.
    pub rejected: u64,
    /// Stale shares (not submitted).
    pub stale: u64,
    /// Shares that were blocks.
    pub blocks: u64,
    /// The last submit's round trip in milliseconds (0 before one).
    pub rtt_ms: f64,
}

/// Starts mining on a pool; see hashrig.h.
///
/// # Safety
/// `url` and `user` must be NUL-terminated strings, `pass` one or null,
/// and `out` valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pool_start(
    cpu: i32,
    gpus: i32,
    url: *const c_char,
    user: *const c_char,
    pass: *const c_char,
    out: *mut *mut HashrigPoolMiner,
) -> i32 {
    let options = HashrigOptions::with(cpu, gpus);
    // SAFETY: `options` is a valid local with null strings; the rest is
    // passed on under the caller's contract.
    unsafe { hashrig_pool_start_with(&options, url, user, pass, out) }
}

/// Starts mining on a pool with engine options; see hashrig.h.
///
/// # Safety
/// `options` as for `hashrig_engine_new_with`; `url` and `user` must be
/// NUL-terminated strings, `pass` one or null, and `out` valid for
/// writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pool_start_with(
    options: *const HashrigOptions,
    url: *const c_char,
    user: *const c_char,
    pass: *const c_char,
    out: *mut *mut HashrigPoolMiner,
) -> i32 {
    let one = HashrigUpstream { url, user, pass };
    // SAFETY: a list of one valid local; the rest is passed on under the
    // caller's contract.
    unsafe { hashrig_pool_start_list(options, &one, 1, out) }
}

/// One entry of a failover list as C gives it (`hashrig_upstream`).
#[repr(C)]
pub struct HashrigUpstream {
    /// NUL-terminated URL: a pool's, or a node's `http://` RPC address.
    pub url: *const c_char,
    /// The worker name, or a node's payout address.
    pub user: *const c_char,
    /// The password, or a node's credentials; null for the default.
    pub pass: *const c_char,
}

/// The most entries a failover list may have.
const MAX_UPSTREAMS: usize = 64;

/// Reads one entry, a pool or a node as its URL says
/// ([`UpstreamUrl`]): for a node, user is the payout address and pass
/// `cookie:PATH` or `rpcuser:rpcpassword` (null: the node's default
/// cookie).
///
/// # Safety
/// `e`'s strings as for `hashrig_pool_start`.
unsafe fn entry(e: &HashrigUpstream, prefix: &str) -> Result<Upstream, (i32, String)> {
    let what = |field: &str| format!("{prefix}{field}");
    // SAFETY: the caller's contract, as documented above.
    let (url, user) = unsafe { (text(e.url, &what("url"))?, text(e.user, &what("user"))?) };
    // SAFETY: as above; null means the default.
    let pass = if e.pass.is_null() {
        None
    } else {
        Some(unsafe { text(e.pass, &what("pass"))? })
    };
    let input = |e: hashrig::Error| (HASHRIG_ERR_ARGUMENT, e.to_string());
    match url.parse::<UpstreamUrl>().map_err(input)? {
        UpstreamUrl::Node(url) => node(url, user, pass, &what),
        UpstreamUrl::Pool(url) => Ok(Pool::new(url, Some(user), pass).map_err(input)?.into()),
    }
}

/// A node entry: `user` the payout address, `pass` the credentials.
fn node(
    url: hashrig::node::NodeUrl,
    user: &str,
    pass: Option<&str>,
    what: &dyn Fn(&str) -> String,
) -> Result<Upstream, (i32, String)> {
    let auth = pass.map(|p| match p.strip_prefix("cookie:") {
        Some(path) => Auth::Cookie(path.into()),
        None => {
            let (u, p) = p.split_once(':').unwrap_or((p, ""));
            Auth::UserPass(u.to_string(), p.to_string())
        }
    });
    // The payout address is checked as the command line checks it: an
    // address of some network (which one, the node says once reached).
    let known = [Network::Main, Network::Test, Network::Regtest]
        .iter()
        .any(|n| script_for(user, *n).is_ok());
    if !known {
        return Err((
            HASHRIG_ERR_ARGUMENT,
            format!("{}: {user:?} is not a Bitcoin address", what("user")),
        ));
    }
    let node = Node::new(url, user, auth).map_err(|e| (HASHRIG_ERR_ARGUMENT, e.to_string()))?;
    Ok(node.into())
}

/// Starts mining on a failover list of pools and nodes; see hashrig.h.
///
/// # Safety
/// `options` as for `hashrig_engine_new_with`; `list` must point to
/// `count` readable entries whose strings are as for `hashrig_pool_start`,
/// and `out` must be valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pool_start_list(
    options: *const HashrigOptions,
    list: *const HashrigUpstream,
    count: usize,
    out: *mut *mut HashrigPoolMiner,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        if list.is_null() {
            return Err(null("list"));
        }
        if count == 0 || count > MAX_UPSTREAMS {
            return Err((
                HASHRIG_ERR_ARGUMENT,
                format!("count: {count} entries (1 to {MAX_UPSTREAMS})"),
            ));
        }
        // SAFETY: the caller's contract, as documented above.
        let options = unsafe { engine_options(options)? };
        // SAFETY: non-null, and `count` readable entries (caller's
        // contract).
        let list = unsafe { std::slice::from_raw_parts(list, count) };
        let mut pool_options = PoolOptions::new(Vec::new());
        for (at, e) in list.iter().enumerate() {
            // Errors name the entry where there are several (`list[1].url`),
            // the field alone for one, as hashrig_pool_start's do.
            let prefix = if count > 1 {
                format!("list[{at}].")
            } else {
                String::new()
            };
            // SAFETY: each entry's strings, by the caller's contract.
            pool_options.upstreams.push(unsafe { entry(e, &prefix)? });
        }
        // What the miner checks when it starts, checked first: a bad list
        // is the caller's argument, not a device's failure.
        pool_options
            .validate()
            .map_err(|e| (HASHRIG_ERR_ARGUMENT, e.to_string()))?;
        let engine =
            Arc::new(Engine::start(options).map_err(|e| (HASHRIG_ERR_DEVICE, e.to_string()))?);
        let miner = PoolMiner::start(engine.clone(), pool_options)
            .map_err(|e| (HASHRIG_ERR_DEVICE, e.to_string()))?;
        let boxed = Box::into_raw(Box::new(HashrigPoolMiner {
            engine: HashrigEngine { engine },
            miner,
        }));
        // SAFETY: `out` is non-null and, by the caller's contract, writable.
        unsafe { *out = boxed };
        Ok(HASHRIG_OK)
    })
}

/// How many pools and nodes the miner's list holds; see hashrig.h.
///
/// # Safety
/// `miner` must come from `hashrig_pool_start`; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pool_count(
    miner: *const HashrigPoolMiner,
    out: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: a live miner pointer (caller's contract).
        let miner = unsafe { miner.as_ref() }.ok_or_else(|| null("miner"))?;
        // SAFETY: writable when non-null (caller's contract).
        let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
        *out = miner.miner.stats().len();
        Ok(HASHRIG_OK)
    })
}

/// The miner's engine, for the device functions; see hashrig.h.
///
/// # Safety
/// `miner` must come from `hashrig_pool_start`.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pool_engine(
    miner: *const HashrigPoolMiner,
) -> *const HashrigEngine {
    // SAFETY: a live miner pointer or null (caller's contract).
    match unsafe { miner.as_ref() } {
        Some(m) => &m.engine,
        None => std::ptr::null(),
    }
}

/// A pool's statistics; see hashrig.h.
///
/// # Safety
/// `miner` must come from `hashrig_pool_start`; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pool_stats_get(
    miner: *const HashrigPoolMiner,
    index: usize,
    out: *mut HashrigPoolStats,
) -> i32 {
    guard(|| {
        // SAFETY: a live miner pointer (caller's contract).
        let miner = unsafe { miner.as_ref() }.ok_or_else(|| null("miner"))?;
        // SAFETY: writable when non-null (caller's contract).
        let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
        let stats = miner.miner.stats();
        let s = stats.get(index).ok_or_else(|| {
            (
                HASHRIG_ERR_ARGUMENT,
                format!("pool {index}: there are {} pools", stats.len()),
            )
        })?;
        out.url = [0; 256];
        for (slot, byte) in out.url.iter_mut().zip(s.url.bytes().take(255)) {
            *slot = byte as c_char;
        }
        out.state = match s.state {
            PoolState::Idle => 0,
            PoolState::Connecting => 1,
            PoolState::Mining => 2,
            PoolState::Failed => 3,
        };
        out.difficulty = s.difficulty.unwrap_or(0.0);
        out.accepted = s.accepted;
        out.rejected = s.rejected;
        out.stale = s.stale;
        out.blocks = s.blocks;
        out.rtt_ms = s.rtt.map_or(0.0, |d| d.as_secs_f64() * 1e3);
        Ok(HASHRIG_OK)
    })
}

/// Stops mining (waiting up to two seconds for answers to shares in
/// flight) and frees the miner and its engine.
///
/// # Safety
/// `miner` must be null or come from `hashrig_pool_start`, and not be
/// used again.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pool_free(miner: *mut HashrigPoolMiner) {
    if miner.is_null() {
        return;
    }
    // SAFETY: from Box::into_raw in hashrig_pool_start, freed once (caller's contract).
    let boxed = unsafe { Box::from_raw(miner) };
    let _ = catch_unwind(AssertUnwindSafe(move || {
        boxed.miner.stop(Duration::from_secs(2));
        drop(boxed)
    }));
}
