//! The C ABI, called from C: tests/c/engine_smoke.c is compiled with the
//! system's C compiler against src/capi/hashrig.h and the cdylib that
//! cargo built beside this test, then run.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn c_program_drives_the_engine() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // This test runs from target/<profile>/deps, where the cdylib lies too.
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let lib = deps.join(format!(
        "{}hashrig{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(lib.exists(), "no cdylib at {}", lib.display());
    let exe = deps.join("hashrig_c_smoke");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .arg(root.join("tests/c/engine_smoke.c"))
        .arg("-I")
        .arg(root.join("src/capi"))
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
    let run = Command::new(&exe).output().unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{out}\n{err}");
    assert!(out.contains("all checks passed"), "{out}\n{err}");
}
