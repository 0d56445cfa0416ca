//! Adapter discovery and selection: every adapter on every backend wgpu
//! was built with, one physical GPU listed once, ranked, and chosen by
//! index, name or PCI bus id (or automatically, skipping software
//! rasterizers).

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
    pub(super) adapter: wgpu::Adapter,
}

impl AdapterEntry {
    /// Whether automatic selection uses it.
    pub fn auto(&self) -> bool {
        self.skipped_because.is_none()
    }

    /// A display name: the adapter's name and its backend.
    pub fn label(&self) -> String {
        format!("{} ({:?})", self.info.name, self.info.backend)
    }
}

fn is_software(info: &wgpu::AdapterInfo) -> bool {
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
/// `WGPU_BACKEND` when set), with one physical GPU seen through several
/// backends listed once (Vulkan, Metal or DX12 before GL), ranked
/// discrete, integrated, virtual, then software.
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
        let same_gpu = entries.iter().any(|e| {
            e.info.name == info.name
                && ((e.info.vendor, e.info.device) == (info.vendor, info.device)
                    || (!info.device_pci_bus_id.is_empty()
                        && e.info.device_pci_bus_id == info.device_pci_bus_id))
        });
        if same_gpu {
            continue;
        }
        let software = is_software(&info);
        let skipped_because = if software {
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
            adapter,
        });
    }
    entries
}

/// The adapters named by `selectors` (an index, a case-insensitive part of
/// the name, or a PCI bus id; software adapters may be named), or with no
/// selector the automatic choice, also honouring `HASHRIG_DEVICE` and
/// `WGPU_ADAPTER_NAME`. An empty result with no selector means no usable GPU.
pub fn select(all: &[AdapterEntry], selectors: &[String]) -> Result<Vec<AdapterEntry>, Error> {
    let mut selectors: Vec<String> = selectors.iter().flat_map(|s| split_selectors(s)).collect();
    if selectors.is_empty() {
        for var in ["HASHRIG_DEVICE", "WGPU_ADAPTER_NAME"] {
            if let Ok(v) = std::env::var(var) {
                selectors.extend(split_selectors(&v));
            }
        }
    }
    if selectors.is_empty() {
        return Ok(all.iter().filter(|a| a.auto()).cloned().collect());
    }
    let mut chosen: Vec<AdapterEntry> = Vec::new();
    for sel in &selectors {
        let matches: Vec<&AdapterEntry> = match sel.parse::<usize>() {
            Ok(i) => all.iter().filter(|a| a.index == i).collect(),
            Err(_) => {
                let s = sel.to_lowercase();
                all.iter()
                    .filter(|a| {
                        a.info.name.to_lowercase().contains(&s)
                            || (!a.info.device_pci_bus_id.is_empty()
                                && a.info.device_pci_bus_id.to_lowercase() == s)
                    })
                    .collect()
            }
        };
        if matches.is_empty() {
            let names: Vec<String> = all
                .iter()
                .map(|a| format!("{}: {}", a.index, a.info.name))
                .collect();
            return Err(Error::Device(format!(
                "{sel:?} matches no adapter (found: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
        for m in matches {
            if !chosen.iter().any(|c| c.index == m.index) {
                chosen.push(m.clone());
            }
        }
    }
    Ok(chosen)
}

fn split_selectors(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
