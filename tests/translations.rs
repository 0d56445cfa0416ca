//! The WGSL kernel as every wgpu backend receives it, checked without any
//! adapter: naga translates both entry points to SPIR-V (Vulkan), MSL
//! (Metal), HLSL (DX12) and GLSL (OpenGL), and an independent tool checks
//! each translation where one installs here:
//!
//! - SPIR-V: `spirv-val` (SPIRV-Tools), for the Vulkan environment.
//! - HLSL: glslang's HLSL front end compiles it to SPIR-V, which
//!   `spirv-val` checks in turn. (Microsoft's DXC, the DX12 backend's own
//!   compiler, has no Debian package.)
//! - GLSL: `glslangValidator` compiles the GLSL ES 3.10 compute shader
//!   that wgpu's GL backend hands to the driver.
//! - MSL: naga's Metal back end with its own checks; no Metal compiler
//!   runs off Apple platforms.
//!
//! With HASHRIG_REQUIRE_SHADER_TOOLS=1 (set in CI) a missing tool fails
//! the tests instead of skipping the check.
#![cfg(feature = "gpu")]

use std::path::{Path, PathBuf};
use std::process::Command;

use hashrig::gpu::shader::ENTRY_POINTS;
use hashrig::gpu::KernelForm;
use naga::back::PipelineConstants;
use naga::valid::{Capabilities, ModuleInfo, ValidationFlags, Validator};
use naga::{Module, ShaderStage};

/// Workgroup sizes the calibration may pick: the override is resolved
/// before translation, as wgpu does when it builds a pipeline.
const WORKGROUP_SIZES: [u32; 3] = [32, 64, 256];

fn validate(module: &Module) -> ModuleInfo {
    Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(module)
        .expect("the module validates")
}

/// Every kernel form with every entry point.
fn cases() -> impl Iterator<Item = (KernelForm, &'static str)> {
    KernelForm::ALL
        .into_iter()
        .flat_map(|form| ENTRY_POINTS.map(move |entry| (form, entry)))
}

/// The module of `form` with `WORKGROUP_SIZE` fixed for `entry`, as a
/// backend sees it; a generic job's nonce straddles two blocks (word 15,
/// byte 3), the place that needs the most of the translation.
fn resolved(form: KernelForm, entry: &str, workgroup_size: u32) -> (Module, ModuleInfo) {
    let module = naga::front::wgsl::parse_str(form.source()).expect("WGSL parses");
    let info = validate(&module);
    let mut constants = PipelineConstants::default();
    constants.insert("WORKGROUP_SIZE".to_string(), workgroup_size as f64);
    if entry == "search_generic" {
        constants.insert("NONCE_WORD".to_string(), 15.0);
        constants.insert("NONCE_BYTE".to_string(), 3.0);
    }
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((ShaderStage::Compute, entry)),
        &constants,
    )
    .expect("overrides resolve");
    (module.into_owned(), info.into_owned())
}

/// The tool's path, or None (with a visible message) when it is missing
/// and HASHRIG_REQUIRE_SHADER_TOOLS is not set.
fn tool<'a>(name: &'a str, package: &str) -> Option<&'a str> {
    let found = Command::new(name).arg("--version").output().is_ok();
    if found {
        return Some(name);
    }
    if std::env::var("HASHRIG_REQUIRE_SHADER_TOOLS").as_deref() == Ok("1") {
        panic!("HASHRIG_REQUIRE_SHADER_TOOLS=1 but {name} is missing (Debian: {package})");
    }
    eprintln!("SKIPPED: {name} is missing (Debian: {package}); the translation was only written");
    None
}

/// A file in this run's scratch directory, removed when dropped (also when
/// the test fails), and the directory with the last of them.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("hashrig-translations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir.join(name))
}

/// Runs a checking tool and fails the test with its output when it rejects.
fn check(cmd: &mut Command, what: &str, source: &Path) {
    let out = cmd.output().expect("the tool runs");
    assert!(
        out.status.success(),
        "{what} rejected {}:\n{}{}",
        source.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn spirv_val(path: &Path, env: &str) {
    if let Some(val) = tool("spirv-val", "spirv-tools") {
        check(
            Command::new(val).arg("--target-env").arg(env).arg(path),
            "spirv-val",
            path,
        );
    }
}

fn write_words(path: &Path, words: &[u32]) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn spirv_for_vulkan_passes_spirv_val() {
    for (form, entry) in cases() {
        for wg in WORKGROUP_SIZES {
            let (module, info) = resolved(form, entry, wg);
            let options = naga::back::spv::Options::default();
            let pipeline = naga::back::spv::PipelineOptions {
                shader_stage: ShaderStage::Compute,
                entry_point: entry.to_string(),
            };
            let words = naga::back::spv::write_vec(&module, &info, &options, Some(&pipeline))
                .expect("SPIR-V is written");
            assert_eq!(words[0], 0x0723_0203, "the SPIR-V magic number");
            let path = scratch(&format!("{form}-{entry}-{wg}.spv"));
            write_words(&path, &words);
            spirv_val(&path, "vulkan1.0");
        }
    }
}

#[test]
fn hlsl_for_dx12_compiles_with_glslang_and_its_spirv_validates() {
    for (form, entry) in cases() {
        let (module, info) = resolved(form, entry, 64);
        // `@builtin(num_workgroups)` has no HLSL semantic: wgpu's DX12
        // backend passes it in root constants at a binding of its own.
        let options = naga::back::hlsl::Options {
            shader_model: naga::back::hlsl::ShaderModel::V5_1,
            special_constants_binding: Some(naga::back::hlsl::BindTarget {
                space: 1,
                register: 0,
                ..Default::default()
            }),
            ..Default::default()
        };
        let pipeline = naga::back::hlsl::PipelineOptions {
            entry_point: Some((ShaderStage::Compute, entry.to_string())),
        };
        let mut hlsl = String::new();
        let reflection = naga::back::hlsl::Writer::new(&mut hlsl, &options, &pipeline)
            .write(&module, &info, None)
            .expect("HLSL is written");
        assert_eq!(reflection.entry_point_names.len(), 1);
        let name = reflection.entry_point_names[0]
            .as_ref()
            .expect("the entry point translates")
            .clone();
        assert!(hlsl.contains("[numthreads(64, 1, 1)]"), "{hlsl}");
        let path = scratch(&format!("{form}-{entry}.hlsl"));
        std::fs::write(&path, &hlsl).unwrap();
        let Some(glslang) = tool("glslangValidator", "glslang-tools") else {
            continue;
        };
        let spv = scratch(&format!("{form}-{entry}-from-hlsl.spv"));
        check(
            Command::new(glslang)
                .args([
                    "-D",
                    "-S",
                    "comp",
                    "-e",
                    &name,
                    "-V",
                    "--target-env",
                    "vulkan1.1",
                ])
                .arg("-o")
                .arg(&spv)
                .arg(&path),
            "glslang's HLSL front end",
            &path,
        );
        spirv_val(&spv, "vulkan1.1");
    }
}

#[test]
fn glsl_for_opengl_compiles_with_glslang() {
    for (form, entry) in cases() {
        let (module, info) = resolved(form, entry, 64);
        let options = naga::back::glsl::Options {
            version: naga::back::glsl::Version::new_gles(310),
            ..Default::default()
        };
        let pipeline = naga::back::glsl::PipelineOptions {
            shader_stage: ShaderStage::Compute,
            entry_point: entry.to_string(),
            multiview: None,
        };
        let mut glsl = String::new();
        naga::back::glsl::Writer::new(
            &mut glsl,
            &module,
            &info,
            &options,
            &pipeline,
            naga::proc::BoundsCheckPolicies::default(),
        )
        .expect("the GLSL writer accepts the module")
        .write()
        .expect("GLSL is written");
        assert!(glsl.starts_with("#version 310 es"), "{glsl}");
        let path = scratch(&format!("{form}-{entry}.comp"));
        std::fs::write(&path, &glsl).unwrap();
        if let Some(glslang) = tool("glslangValidator", "glslang-tools") {
            check(
                Command::new(glslang).args(["-S", "comp"]).arg(&path),
                "glslangValidator",
                &path,
            );
        }
    }
}

#[test]
fn msl_for_metal_is_written_for_both_entry_points() {
    for (form, entry) in cases() {
        let (module, info) = resolved(form, entry, 64);
        let options = naga::back::msl::Options {
            lang_version: (2, 0),
            ..Default::default()
        };
        let pipeline = naga::back::msl::PipelineOptions {
            entry_point: Some((ShaderStage::Compute, entry.to_string())),
            ..Default::default()
        };
        let (msl, translation) = naga::back::msl::write_string(&module, &info, &options, &pipeline)
            .expect("MSL is written");
        let name = translation.entry_point_names[0]
            .as_ref()
            .expect("the entry point translates");
        assert!(msl.contains(&format!("kernel void {name}(")), "{msl}");
        // The atomics that report candidates survive translation.
        assert!(msl.contains("atomic_fetch_add_explicit"), "{msl}");
    }
}

/// docs/KERNEL-COST.md begins with the cost report of the shader as it is:
/// a kernel change that moves an operation count shows in review.
#[test]
fn the_kernel_cost_report_is_up_to_date() {
    let report = hashrig::gpu::cost::report().expect("the report is computed");
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/KERNEL-COST.md"))
        .expect("docs/KERNEL-COST.md");
    // The ISA report follows, written from `--example kernel_isa`.
    assert!(
        doc.starts_with(&report),
        "docs/KERNEL-COST.md is stale: write `cargo run --release --example kernel_cost` \
         over its beginning, up to the ISA report"
    );
    // The kernel reaches the minimum within 2% once rotates are folded,
    // and only the candidate branch touches the atomics.
    let cost = hashrig::gpu::cost::header_kernel_spirv().unwrap();
    let kernel = hashrig::gpu::cost::kernel_ops_under(&cost, hashrig::gpu::cost::Isa::Portable);
    let minimum = hashrig::gpu::cost::minimum_header_ops(hashrig::gpu::cost::Isa::Portable);
    assert!(kernel.alu() >= minimum.alu(), "{kernel:?} < {minimum:?}");
    assert!(
        kernel.alu() as f64 <= 1.02 * minimum.alu() as f64,
        "{kernel:?} vs {minimum:?}"
    );
    assert_eq!(cost.per_nonce.atomic, 0);
    assert_eq!(cost.candidate.atomic, 2);
}
