//! The C ABI, called from C and from Go: tests/c/*.c are compiled with the
//! system's C compiler against hashrig.h and the cdylib that
//! cargo built beside this test, then run; bindings/go is tested with
//! `go test` over the same library. The pool programs mine on a loopback
//! test pool that judges shares with rust-bitcoin.

#[path = "../../../tests/sv2pool/loopback.rs"]
mod loopback;
#[path = "../../../tests/testnode/mod.rs"]
mod testnode;
#[path = "../../../tests/testpool/mod.rs"]
mod testpool;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory this test runs from (target/<profile>/deps), where the
/// cdylib lies too.
fn deps() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Compiles `tests/c/<name>.c` against the cdylib.
fn compile(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let deps = deps();
    let lib = deps.join(format!(
        "{}hashrig_c{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(lib.exists(), "no cdylib at {}", lib.display());
    let exe = deps.join(format!("hashrig_c_{name}"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .arg(root.join(format!("tests/c/{name}.c")))
        .arg("-I")
        .arg(&root)
        .arg("-Wall")
        .arg("-Werror")
        .arg("-o")
        .arg(&exe)
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", deps.display()))
        .output()
        .expect("a C compiler (set CC)");
    assert!(
        build.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    exe
}

fn run_checked(exe: &Path, args: &[&str]) {
    let run = Command::new(exe).args(args).output().unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{out}\n{err}");
    assert!(out.contains("all checks passed"), "{out}\n{err}");
}

#[test]
fn c_program_drives_the_engine() {
    run_checked(&compile("engine_smoke"), &[]);
}

#[test]
fn c_program_mines_on_a_pool() {
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    run_checked(&compile("pool_smoke"), &[&pool.url()]);
    assert!(pool.accepted() >= 2);
    assert!(pool.judged().iter().all(|j| j.accepted));
}

/// A loopback Stratum V2 pool at the v1 test pool's difficulty.
fn v2_pool() -> loopback::Loopback {
    loopback::Loopback::at_difficulty(0.0005)
}

#[test]
fn c_program_mines_on_a_stratum_v2_pool() {
    let pool = v2_pool();
    run_checked(&compile("pool_smoke"), &[&pool.url()]);
    assert!(pool.shares.load(std::sync::atomic::Ordering::Relaxed) >= 2);
}

#[test]
fn c_program_mines_solo_on_a_node() {
    let node = testnode::TestNode::start(testnode::TESTNET_BLOCK, Default::default());
    let script = bitcoin::ScriptBuf::from_bytes(vec![0x51]);
    let address = bitcoin::Address::p2wsh(&script, bitcoin::KnownHrp::Regtest).to_string();
    let cookie = format!("cookie:{}", node.cookie.display());
    run_checked(&compile("pool_smoke"), &[&node.url(), &address, &cookie]);
    assert!(node.accepted() >= 2);
    assert!(node.judged().iter().all(|j| j.faults.is_empty()));
}

/// A port nobody listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn c_program_fails_over_along_a_list_of_pools_and_nodes() {
    // A Stratum v1 pool and a node that are both down, then a Stratum V2
    // pool: the three protocols in one list, and the miner must reach the
    // last.
    let down_pool = format!("stratum+tcp://127.0.0.1:{}", closed_port());
    let down_node = testnode::TestNode::start(
        testnode::TESTNET_BLOCK,
        testnode::Behaviour {
            down: true,
            ..Default::default()
        },
    );
    let script = bitcoin::ScriptBuf::from_bytes(vec![0x51]);
    let address = bitcoin::Address::p2wsh(&script, bitcoin::KnownHrp::Regtest).to_string();
    let v2 = v2_pool();
    run_checked(
        &compile("pool_list_smoke"),
        &[
            &down_pool,
            "c-worker",
            "-",
            &down_node.url(),
            &address,
            "-",
            &v2.url(),
            "c-worker",
            "-",
        ],
    );
    assert!(v2.shares.load(std::sync::atomic::Ordering::Relaxed) >= 2);
}

/// `go test` over bindings/go. Without Go it is skipped with a message,
/// unless HASHRIG_REQUIRE_GO is set (CI sets it).
#[test]
fn go_package_mines_a_header_and_on_a_pool() {
    let go = std::env::var("GO").unwrap_or_else(|_| "go".into());
    if Command::new(&go).arg("version").output().is_err() {
        assert!(
            std::env::var_os("HASHRIG_REQUIRE_GO").is_none(),
            "HASHRIG_REQUIRE_GO is set but `{go}` does not run"
        );
        eprintln!(
            "SKIPPED: the Go binding was not tested: no Go toolchain (apt-get install golang-go)"
        );
        return;
    }
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let v2 = v2_pool();
    // About a second a block on two cores: no two blocks race for one tip.
    let node = testnode::TestNode::start(
        testnode::TESTNET_BLOCK,
        testnode::Behaviour {
            bits: 0x1d3f_ffff,
            ..Default::default()
        },
    );
    let script = bitcoin::ScriptBuf::from_bytes(vec![0x51]);
    let address = bitcoin::Address::p2wsh(&script, bitcoin::KnownHrp::Regtest).to_string();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let deps = deps();
    let run = Command::new(&go)
        .args(["test", "-count=1", "-v", "./..."])
        .current_dir(root.join("../go"))
        .env("CGO_ENABLED", "1")
        .env(
            "CGO_LDFLAGS",
            format!("-L{0} -Wl,-rpath,{0}", deps.display()),
        )
        // Cargo's own library path may name an older build of the library
        // first; this test's build is the one beside it.
        .env("LD_LIBRARY_PATH", &deps)
        .env("GOCACHE", deps.join("go-cache"))
        .env("GOFLAGS", "-mod=mod")
        .env("HASHRIG_TEST_POOL", pool.url())
        .env("HASHRIG_TEST_POOL_V2", v2.url())
        .env("HASHRIG_TEST_NODE", node.url())
        .env("HASHRIG_TEST_NODE_ADDRESS", &address)
        .env(
            "HASHRIG_TEST_NODE_AUTH",
            format!("cookie:{}", node.cookie.display()),
        )
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "go test failed:\n{out}\n{err}");
    // Every Go test ran: none skipped for a pool this test did not give.
    assert!(!out.contains("--- SKIP"), "{out}");
    for name in [
        "TestMinesTheGenesisBlock",
        "TestMinesOnAPool",
        "TestMinesSoloOnANode",
        "TestFailsOverAlongAList",
    ] {
        assert!(out.contains(&format!("--- PASS: {name}")), "{name}: {out}");
    }
    assert!(pool.accepted() >= 2, "{out}");
}
