//! What to compile where: the Mesa installations found (the system's, an
//! ICD file named with `--icd`, an unpacked Mesa with `--mesa-root`), the
//! compilers and GPU families each one can reach with no GPU, and the
//! environment of the child process that compiles for one of them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The system's RADV ICD file (Debian's mesa-vulkan-drivers).
const SYSTEM_RADV: &str = "/usr/share/vulkan/icd.d/radeon_icd.x86_64.json";
/// Where an unpacked Debian Mesa keeps its libraries.
const LIB_DIR: &str = "usr/lib/x86_64-linux-gnu";

/// A GPU compiler the report reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compiler {
    /// AMD's ACO, RADV's default.
    Aco,
    /// RADV's LLVM backend (AMDGPU LLVM).
    RadvLlvm,
    /// NVIDIA's NAK in NVK.
    Nak,
    /// The Asahi compiler for Apple GPUs.
    Agx,
}

impl Compiler {
    /// The name the report prints.
    pub fn name(self) -> &'static str {
        match self {
            Compiler::Aco => "ACO",
            Compiler::RadvLlvm => "LLVM",
            Compiler::Nak => "NAK",
            Compiler::Agx => "AGX",
        }
    }
}

/// One Mesa installation.
#[derive(Clone, Debug)]
pub struct Install {
    /// How the user named it: "system", the ICD path or the root.
    pub origin: String,
    /// ICD files by driver (`radeon`, `nouveau`, `asahi`), rewritten to
    /// absolute library paths for an unpacked root.
    pub icds: Vec<(String, PathBuf)>,
    /// The root's libraries, put on the library path.
    pub lib_dir: Option<PathBuf>,
    /// The root's own dynamic loader (a root unpacked with its glibc).
    pub loader: Option<PathBuf>,
}

impl Install {
    fn icd(&self, driver: &str) -> Option<&Path> {
        self.icds
            .iter()
            .find(|(d, _)| d == driver)
            .map(|(_, p)| p.as_path())
    }

    fn shim(&self, name: &str) -> Option<PathBuf> {
        let path = self
            .lib_dir
            .as_ref()?
            .join(format!("lib{name}_noop_drm_shim.so"));
        path.exists().then_some(path)
    }
}

/// The system's RADV, if installed.
pub fn system() -> Option<Install> {
    Path::new(SYSTEM_RADV).exists().then(|| Install {
        origin: "system".into(),
        icds: vec![("radeon".into(), PathBuf::from(SYSTEM_RADV))],
        lib_dir: None,
        loader: None,
    })
}

/// A RADV ICD file named on the command line (its library is found
/// through the caller's `LD_LIBRARY_PATH`).
pub fn icd(path: &Path) -> Result<Install, String> {
    if !path.is_file() {
        return Err(format!("no ICD file at {}", path.display()));
    }
    Ok(Install {
        origin: path.display().to_string(),
        icds: vec![("radeon".into(), path.to_path_buf())],
        lib_dir: None,
        loader: None,
    })
}

/// An unpacked Mesa (`dpkg -x` of mesa-vulkan-drivers and what it needs,
/// maybe mesa-drm-shim and libc6): its ICD files are rewritten into
/// `scratch` with library paths inside the root.
pub fn root(root: &Path, scratch: &Path) -> Result<Install, String> {
    let root = &root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let lib_dir = root.join(LIB_DIR);
    let icd_dir = root.join("usr/share/vulkan/icd.d");
    let entries = std::fs::read_dir(&icd_dir)
        .map_err(|e| format!("{}: no Vulkan drivers ({e})", icd_dir.display()))?;
    let mut icds = Vec::new();
    let tag = root.display().to_string().replace(['/', ' '], "_");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(driver) = ["radeon", "nouveau", "asahi"]
            .into_iter()
            .find(|d| name.starts_with(&format!("{d}_icd")))
        else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        let rewritten = rewrite_library_path(&text, &lib_dir)
            .ok_or_else(|| format!("{}: no library_path", entry.path().display()))?;
        let out = scratch.join(format!("{tag}-{driver}.json"));
        std::fs::write(&out, rewritten).map_err(|e| format!("{}: {e}", out.display()))?;
        icds.push((driver.to_string(), out));
    }
    if icds.is_empty() {
        return Err(format!("{}: no RADV, NVK or Asahi ICD", icd_dir.display()));
    }
    let loader = ["usr/lib64", "lib64", LIB_DIR]
        .iter()
        .map(|d| root.join(d).join("ld-linux-x86-64.so.2"))
        .find(|p| p.exists());
    Ok(Install {
        origin: root.display().to_string(),
        icds,
        lib_dir: Some(lib_dir),
        loader,
    })
}

/// The ICD's JSON with `library_path` pointing into `lib_dir`.
fn rewrite_library_path(json: &str, lib_dir: &Path) -> Option<String> {
    let key = "\"library_path\"";
    let at = json.find(key)? + key.len();
    let open = at + json[at..].find('"')? + 1;
    let close = open + json[open..].find('"')?;
    let file = Path::new(&json[open..close]).file_name()?;
    Some(format!(
        "{}{}{}",
        &json[..open],
        lib_dir.join(file).display(),
        &json[close..]
    ))
}

/// One compiler for one GPU family in one installation.
#[derive(Clone, Debug)]
pub struct Target {
    pub install: Install,
    pub compiler: Compiler,
    /// The architecture: RDNA2, CDNA2, Ampere, M1...
    pub family: &'static str,
    /// The chip names the driver may know it by, tried in turn
    /// (`RADV_FORCE_FAMILY`, `AMDGPU_GPU_ID`, `NOUVEAU_CHIPSET`).
    pub chips: &'static [&'static str],
    /// The ICD file the loader gets.
    pub icd: PathBuf,
    /// A no-op kernel driver to preload.
    pub shim: Option<PathBuf>,
}

/// AMD families: RADV's null device knows them by these names (Mesa 22.3
/// by its own, Mesa 25 by the marketing code names).
const AMD_NULL: [(&str, &[&str]); 5] = [
    ("RDNA2", &["navi21"]),
    ("RDNA3", &["navi31", "gfx1100"]),
    ("RDNA4", &["gfx1201"]),
    ("CDNA2", &["mi200", "aldebaran"]),
    ("CDNA3", &["gfx940"]),
];
/// AMD families through the amdgpu no-op kernel driver (Mesa 26).
const AMD_SHIM: [(&str, &[&str]); 3] = [
    ("RDNA2", &["navi21"]),
    ("RDNA3", &["navi31"]),
    ("RDNA4", &["gfx1201"]),
];
/// NVIDIA families through the nouveau no-op kernel driver (Hopper has
/// no NVK device yet).
const NVIDIA_SHIM: [(&str, &[&str]); 3] = [
    ("Turing", &["0x162"]),
    ("Ampere", &["0x172"]),
    ("Ada", &["0x192"]),
];

/// Every target an installation offers.
pub fn targets(install: &Install) -> Vec<Target> {
    let mut out = Vec::new();
    let mut add = |compiler, family, chips, icd: &Path, shim: Option<PathBuf>| {
        out.push(Target {
            install: install.clone(),
            compiler,
            family,
            chips,
            icd: icd.to_path_buf(),
            shim,
        })
    };
    if let Some(icd) = install.icd("radeon") {
        let shim = install.shim("amdgpu");
        let families: &[(&str, &[&str])] = if shim.is_some() { &AMD_SHIM } else { &AMD_NULL };
        for compiler in [Compiler::Aco, Compiler::RadvLlvm] {
            for (family, chips) in families {
                add(compiler, family, chips, icd, shim.clone());
            }
        }
    }
    if let (Some(icd), Some(shim)) = (install.icd("nouveau"), install.shim("nouveau")) {
        for (family, chips) in NVIDIA_SHIM {
            add(Compiler::Nak, family, chips, icd, Some(shim.clone()));
        }
    }
    if let (Some(icd), Some(shim)) = (install.icd("asahi"), install.shim("asahi")) {
        add(Compiler::Agx, "M1", &["G13G"], icd, Some(shim));
    }
    out
}

impl Target {
    /// The command that runs `child` (this program in its compile mode,
    /// with `args`) for this target with `chip`.
    pub fn command(&self, child: &Path, args: &[&str], chip: &str, scratch: &Path) -> Command {
        let mut cmd = match (&self.install.loader, &self.install.lib_dir) {
            (Some(loader), Some(lib_dir)) => {
                // A root with its own glibc: everything runs under its
                // loader, the driver's shim preloaded by that loader only.
                let mut c = Command::new(loader);
                c.arg("--library-path").arg(lib_dir);
                if let Some(shim) = &self.shim {
                    c.arg("--preload").arg(shim);
                }
                c.arg(child);
                c
            }
            (_, lib_dir) => {
                let mut c = Command::new(child);
                if let Some(dir) = lib_dir {
                    c.env("LD_LIBRARY_PATH", dir);
                }
                if let Some(shim) = &self.shim {
                    c.env("LD_PRELOAD", shim);
                }
                c
            }
        };
        cmd.args(args)
            .env("VK_ICD_FILENAMES", &self.icd)
            .env("VK_DRIVER_FILES", &self.icd)
            .env("MESA_SHADER_CACHE_DISABLE", "true")
            .env("XDG_RUNTIME_DIR", scratch);
        if self.install.loader.is_some() {
            cmd.env_remove("LD_LIBRARY_PATH").env_remove("LD_PRELOAD");
        }
        match self.compiler {
            Compiler::Aco | Compiler::RadvLlvm => {
                let var = if self.shim.is_some() {
                    "AMDGPU_GPU_ID"
                } else {
                    "RADV_FORCE_FAMILY"
                };
                let debug = if self.compiler == Compiler::RadvLlvm {
                    "shaders,llvm"
                } else {
                    "shaders"
                };
                cmd.env(var, chip).env("RADV_DEBUG", debug);
            }
            Compiler::Nak => {
                cmd.env("NOUVEAU_CHIPSET", chip).env("NAK_DEBUG", "print");
            }
            Compiler::Agx => {
                cmd.env("AGX_MESA_DEBUG", "shaderdb");
            }
        }
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_icd_file_is_pointed_into_the_root() {
        let json = r#"{ "ICD": { "api_version": "1.4.305", "library_path": "libvulkan_radeon.so" }, "file_format_version": "1.0.0" }"#;
        let out = rewrite_library_path(json, Path::new("/m/usr/lib/x86_64-linux-gnu")).unwrap();
        assert!(
            out.contains(r#""library_path": "/m/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so""#)
        );
        let absolute = json.replace(
            "libvulkan_radeon.so",
            "/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so",
        );
        let out = rewrite_library_path(&absolute, Path::new("/m/lib")).unwrap();
        assert!(out.contains(r#""/m/lib/libvulkan_radeon.so""#), "{out}");
    }

    #[test]
    fn a_root_with_shims_offers_every_vendor_and_one_without_the_null_device() {
        let install = |shims: bool| {
            Install {
                origin: "x".into(),
                icds: ["radeon", "nouveau", "asahi"]
                    .map(|d| (d.to_string(), PathBuf::from(format!("/{d}.json"))))
                    .to_vec(),
                lib_dir: None,
                loader: None,
            }
            .with_fake_shims(shims)
        };
        let with = targets(&install(true));
        assert_eq!(
            with.iter().filter(|t| t.compiler == Compiler::Nak).count(),
            3
        );
        assert_eq!(
            with.iter().filter(|t| t.compiler == Compiler::Agx).count(),
            1
        );
        let without = targets(&install(false));
        assert!(without
            .iter()
            .all(|t| matches!(t.compiler, Compiler::Aco | Compiler::RadvLlvm)));
        assert!(without.iter().any(|t| t.family == "CDNA2"));
    }

    impl Install {
        /// This installation with (empty) shim files in a scratch folder.
        fn with_fake_shims(mut self, shims: bool) -> Install {
            let dir = std::env::temp_dir()
                .join(format!("kernel-isa-shims-{}-{shims}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            if shims {
                for s in ["amdgpu", "nouveau", "asahi"] {
                    std::fs::write(dir.join(format!("lib{s}_noop_drm_shim.so")), b"").unwrap();
                }
            }
            self.lib_dir = Some(dir);
            self
        }
    }
}
