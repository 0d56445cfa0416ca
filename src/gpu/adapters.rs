//! Adapter discovery and selection: every adapter on every backend wgpu
//! was built with, ranked, and chosen by index, name, PCI bus id or
//! backend (or automatically: one backend per physical GPU, skipping
//! software rasterizers).

use crate::DeviceError;
use crate::Error;

/// One adapter as discovery sees it.
#[derive(Clone, Debug)]
pub struct AdapterEntry {
    /// Position in [`adapters`]' list, used by `--device <index>`.
    pub index: usize,
    /// What wgpu reports about it.
    pub info: wgpu::AdapterInfo,
    /// A software rasterizer (llvmpipe/lavapipe, WARP, SwiftShader).
    pub software: bool,
    /// Why automatic selection skips it, if it does.
    pub skipped_because: Option<String>,
    /// The index of the entry that reaches the same physical GPU through
    /// a preferred backend (Vulkan, Metal or DX12 before GL), if any: a
    /// name or bus id that matches both picks only that one.
    pub same_gpu_as: Option<usize>,
    pub(super) adapter: wgpu::Adapter,
}

impl AdapterEntry {
    /// Whether automatic selection uses it.
    pub fn auto(&self) -> bool {
        self.skipped_because.is_none()
    }

    /// A display name: the adapter's name and its backend.
    pub fn label(&self) -> String {
        format!("{} ({})", self.info.name, backend_name(self.info.backend))
    }

    /// Opens a wgpu device on this adapter with the limits hashrig's
    /// kernels are built for: the downlevel defaults, at the adapter's own
    /// resolution limits. [`GpuDevice::open`](super::GpuDevice::open)
    /// uses it, and so can a program that runs its own compute kernels on
    /// the adapter that hashrig selected (the benches' reference kernels).
    pub fn request_device(&self, label: &str) -> Result<(wgpu::Device, wgpu::Queue), Error> {
        pollster::block_on(self.adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some(label),
            required_limits:
                wgpu::Limits::downlevel_defaults().using_resolution(self.adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu {
            adapter: self.label(),
            reason: format!("cannot open device: {e}"),
        })
    }
}

/// Whether the adapter is a software rasterizer (a CPU driver).
pub(super) fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || [
            "llvmpipe",
            "lavapipe",
            "softpipe",
            "swiftshader",
            "warp",
            "microsoft basic render",
        ]
        .iter()
        .any(|s| name.contains(s))
}

fn backend_rank(b: wgpu::Backend) -> u8 {
    match b {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    }
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        _ => 3,
    }
}

/// Every adapter on every backend wgpu was built with (narrowed by
/// `WGPU_BACKEND` when set), ranked discrete, integrated, virtual, then
/// software. One physical GPU seen through several backends is listed
/// once per backend; every view after the first (Vulkan, Metal or DX12
/// before GL) carries [`same_gpu_as`](AdapterEntry::same_gpu_as) and is
/// skipped by automatic selection, so that no GPU is opened twice.
pub fn adapters() -> Vec<AdapterEntry> {
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    let instance = wgpu::Instance::new(desc);
    let mut found: Vec<(wgpu::AdapterInfo, wgpu::Adapter)> =
        pollster::block_on(instance.enumerate_adapters(backends))
            .into_iter()
            .map(|a| (a.get_info(), a))
            .collect();
    found.sort_by_key(|(info, _)| (type_rank(info.device_type), backend_rank(info.backend)));
    let mut entries: Vec<AdapterEntry> = Vec::new();
    for (info, adapter) in found {
        let same_gpu_as = entries
            .iter()
            .find(|e| {
                e.same_gpu_as.is_none()
                    && e.info.backend != info.backend
                    && e.info.name == info.name
                    && ((e.info.vendor, e.info.device) == (info.vendor, info.device)
                        || (!info.device_pci_bus_id.is_empty()
                            && e.info.device_pci_bus_id == info.device_pci_bus_id)
                        || is_software(&info))
            })
            .map(|e| e.index);
        let software = is_software(&info);
        let skipped_because = if let Some(first) = same_gpu_as {
            Some(format!(
                "the same GPU as adapter {first} through {}",
                backend_name(entries[first].info.backend)
            ))
        } else if software {
            Some("software rasterizer: the CPU backend is faster on the same cores".to_string())
        } else if !adapter
            .get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            Some("no compute shader support".to_string())
        } else {
            None
        };
        entries.push(AdapterEntry {
            index: entries.len(),
            info,
            software,
            skipped_because,
            same_gpu_as,
            adapter,
        });
    }
    entries
}

/// The backends a selector may name after `@`.
const SELECTABLE: [wgpu::Backend; 4] = [
    wgpu::Backend::Vulkan,
    wgpu::Backend::Metal,
    wgpu::Backend::Dx12,
    wgpu::Backend::Gl,
];

/// The adapter's kind in one lower-case word (`discrete`, `integrated`,
/// `virtual`, `cpu`, `other`).
pub fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

/// The backend's name as selectors and `WGPU_BACKEND` spell it.
pub fn backend_name(backend: wgpu::Backend) -> &'static str {
    match backend {
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::BrowserWebGpu => "webgpu",
        wgpu::Backend::Noop => "noop",
    }
}

/// The adapters named by `selectors` (an index, a case-insensitive part of
/// the name, or a PCI bus id, each optionally followed by `@` and a backend
/// as in `llvmpipe@gl`, or a backend alone as in `@vulkan`; software
/// adapters may be named), or with no selector the automatic choice, also
/// honouring `HASHRIG_DEVICE` and `WGPU_ADAPTER_NAME`. A name or bus id
/// without a backend picks one view of each GPU it matches, not every
/// backend's. An empty result with no selector means no usable GPU.
pub fn select(all: &[AdapterEntry], selectors: &[String]) -> Result<Vec<AdapterEntry>, Error> {
    let mut selectors: Vec<String> = selectors
        .iter()
        .flat_map(|s| split_selectors(all, s))
        .collect();
    if selectors.is_empty() {
        for var in ["HASHRIG_DEVICE", "WGPU_ADAPTER_NAME"] {
            if let Ok(v) = std::env::var(var) {
                selectors.extend(split_selectors(all, &v));
            }
        }
    }
    if selectors.is_empty() {
        return Ok(all.iter().filter(|a| a.auto()).cloned().collect());
    }
    let mut chosen: Vec<AdapterEntry> = Vec::new();
    for sel in &selectors {
        let (what, backend) = match sel.rsplit_once('@') {
            Some((what, backend)) => {
                let backend = backend.to_lowercase();
                if !SELECTABLE.iter().any(|&b| backend_name(b) == backend) {
                    return Err(DeviceError::UnknownBackend {
                        selector: sel.to_string(),
                        backend,
                    }
                    .into());
                }
                (what, Some(backend))
            }
            None => (sel.as_str(), None),
        };
        let on_backend = |a: &&AdapterEntry| {
            backend
                .as_deref()
                .is_none_or(|b| backend_name(a.info.backend) == b)
        };
        let mut matches: Vec<&AdapterEntry> = match what.parse::<usize>() {
            Ok(i) => all
                .iter()
                .filter(|a| a.index == i)
                .filter(on_backend)
                .collect(),
            Err(_) => {
                let s = what.to_lowercase();
                all.iter()
                    .filter(|a| {
                        a.info.name.to_lowercase().contains(&s)
                            || (!a.info.device_pci_bus_id.is_empty()
                                && a.info.device_pci_bus_id.to_lowercase() == s)
                    })
                    .filter(on_backend)
                    .collect()
            }
        };
        // Without a backend, one view of each GPU: a later backend's view
        // goes when the preferred one matched too.
        if backend.is_none() {
            let picked: Vec<usize> = matches.iter().map(|a| a.index).collect();
            matches.retain(|a| a.same_gpu_as.is_none_or(|first| !picked.contains(&first)));
        }
        if matches.is_empty() {
            let names: Vec<String> = all
                .iter()
                .map(|a| format!("{}: {}", a.index, a.label()))
                .collect();
            return Err(DeviceError::NoMatch {
                selector: sel.to_string(),
                found: if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                },
            }
            .into());
        }
        for m in matches {
            if !chosen.iter().any(|c| c.index == m.index) {
                chosen.push(m.clone());
            }
        }
    }
    Ok(chosen)
}

/// A comma-separated list of selectors, except that a whole adapter name
/// with a comma in it (`llvmpipe (LLVM 15.0.6, 256 bits)`, as `devices`
/// prints it) stays one selector.
fn split_selectors(all: &[AdapterEntry], s: &str) -> Vec<String> {
    let whole = s.trim();
    let name = whole.rsplit_once('@').map_or(whole, |(name, _)| name);
    if name.contains(',') && all.iter().any(|a| a.info.name.eq_ignore_ascii_case(name)) {
        return vec![whole.to_string()];
    }
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
