//! The library's error type: every failure is a typed value that names what
//! was wrong, never a panic.

/// Why a compact (nBits) target was rejected, as Bitcoin Core's
/// `arith_uint256::SetCompact` flags it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    /// The sign bit (0x00800000) is set on a non-zero mantissa.
    #[error("nBits {0:#010x} has the sign bit set (negative target)")]
    Negative(u32),
    /// The value does not fit in 256 bits.
    #[error("nBits {0:#010x} overflows 256 bits")]
    Overflow(u32),
    /// The value is zero, which no hash can meet.
    #[error("nBits {0:#010x} encodes a zero target")]
    Zero(u32),
}

/// Everything that can go wrong in hashrig: one variant per kind of
/// failure a caller would handle differently, each naming what failed and
/// keeping its cause ([`std::error::Error::source`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Text that should be hex is not.
    #[error("{field}: {reason}")]
    Hex {
        /// The field being parsed.
        field: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// Input of the wrong length.
    #[error("{field}: expected {expected} bytes, got {actual}")]
    Length {
        /// The field being parsed.
        field: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it had.
        actual: usize,
    },
    /// An invalid compact target.
    #[error("bits: {0}")]
    Compact(#[from] CompactError),
    /// A target of zero given explicitly.
    #[error("target: a zero target can never be met")]
    ZeroTarget,
    /// A difficulty that is zero, negative or not a finite number.
    #[error("difficulty: {0} is not a positive finite number")]
    Difficulty(f64),
    /// So many leading zero bits that the target is zero (256 or more).
    #[error("zero-bits: {0} leaves a zero target, which no hash meets (at most 255)")]
    ZeroBits(u32),
    /// A nonce range that is empty or leaves the job's nonce space.
    #[error("range: {0}")]
    Range(String),
    /// A CPU kernel that does not exist or that this CPU cannot run.
    #[error("cpu-kernel: {0}")]
    Kernel(String),
    /// A kernel reported a nonce whose hash does not pass its own early-exit
    /// check on the reference: the kernel is wrong, and its results cannot be
    /// trusted.
    #[error("{device}: kernel reported nonce {nonce:#x}, which the reference hash rejects")]
    KernelMismatch {
        /// The device or kernel that reported it.
        device: String,
        /// The nonce it reported.
        nonce: u64,
    },
    /// No device of any kind could be started (no usable GPU, and the CPU
    /// not asked for).
    #[error("{0}")]
    NoDevice(String),
    /// A GPU failed: device lost, validation error, or a batch that timed out.
    #[error("gpu {adapter}: {reason}")]
    Gpu {
        /// The adapter's name.
        adapter: String,
        /// What went wrong.
        reason: String,
    },
    /// A device gave a wrong answer to a known-answer test.
    #[error("{device}: self-test failed: {reason}")]
    SelfTest {
        /// The device or kernel.
        device: String,
        /// What came out wrong.
        reason: String,
    },
    /// A device that cannot be used: a selector that matches nothing or
    /// is malformed, an index out of range, a device that failed.
    #[error("device: {0}")]
    Device(#[from] DeviceError),
    /// A pool or node URL, credentials or pool option that cannot be used.
    #[error("pool: {0}")]
    Pool(#[from] PoolError),
    /// An option out of its range, or at odds with another.
    #[error("{option}: {reason}")]
    Options {
        /// The option, as the command line names it.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A server could not listen on its address.
    #[error("{what}: cannot listen on {addr}: {source}")]
    Listen {
        /// The server (`api`, `cgminer-api`).
        what: &'static str,
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// What the thread was for.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A CPU thread pool could not be built.
    #[error("cannot start {threads} CPU threads: {reason}")]
    ThreadPool {
        /// How many were asked for.
        threads: usize,
        /// What the thread pool said.
        reason: String,
    },
}

/// Why an upstream (a pool or a node) as given cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A URL that cannot be read (passwords in it are not shown).
    #[error("{reason} in {kind} URL {url:?}")]
    Url {
        /// `pool` or `node`.
        kind: &'static str,
        /// The URL as given, its password redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A pool without a worker name.
    #[error("{0}: no user (--user or user@ in the URL)")]
    NoUser(String),
    /// A node without a payout address.
    #[error("{0}: no payout address (--address)")]
    NoPayout(String),
    /// A node without credentials, and no cookie where its network keeps one.
    #[error("{0}: no credentials (--rpc-cookie, or --rpc-user and --rpc-pass)")]
    NoCredentials(String),
    /// A Stratum V2 pool without an authority key, where unauthenticated
    /// pools are not allowed.
    #[error("{0}: no authority key after host:port, so the pool could not be authenticated (add its key: stratum2+tcp://HOST:PORT/KEY, or allow unauthenticated pools explicitly)")]
    NoAuthorityKey(String),
    /// Neither a pool nor a node was given.
    #[error("no pool or node given")]
    Empty,
    /// The TLS settings cannot be used (extra trust anchors that do not
    /// parse, say).
    #[error("tls: {0}")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a device cannot be used, or what it failed at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The device's code panicked (it is held out of service).
    #[error("the device panicked")]
    Panicked,
    /// An engine was asked to start with no device.
    #[error("an engine needs at least one device")]
    NoDevices,
    /// A device index out of range.
    #[error("no device {index} (there are {count})")]
    NoSuchDevice {
        /// The index asked for.
        index: usize,
        /// How many devices there are.
        count: usize,
    },
    /// A device that cannot be opened again after it failed.
    #[error("{0} cannot be opened again")]
    CannotReopen(String),
    /// A selector whose backend (after `@`) is not one wgpu has.
    #[error("{selector:?}: unknown backend {backend:?} after '@' (vulkan, metal, dx12, gl)")]
    UnknownBackend {
        /// The selector as given.
        selector: String,
        /// The backend it names.
        backend: String,
    },
    /// A selector that matches no adapter.
    #[error("{selector:?} matches no adapter (found: {found})")]
    NoMatch {
        /// The selector as given.
        selector: String,
        /// The adapters there are, or `none`.
        found: String,
    },
    /// Calibration had no kernel form to measure.
    #[error("no kernel form to calibrate")]
    NoKernelForm,
    /// The kernel's SPIR-V cannot be read.
    #[error("SPIR-V: {0}")]
    Spirv(String),
    /// The kernel's source does not translate.
    #[error("shader translation: {0}")]
    Translation(String),
    /// What a device reports in its own words (a device of one's own, a
    /// driver's error).
    #[error("{0}")]
    Failed(String),
}
