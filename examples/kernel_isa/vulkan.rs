//! The one Vulkan call the report needs: `vkCreateComputePipelines` on
//! the first physical device the loader finds (the report points the
//! loader at one driver), with the kernel's bind group layouts as wgpu
//! makes them. No memory is allocated and nothing is submitted.

use std::ffi::{CStr, CString};

use ash::vk;

/// What the driver says it is.
pub struct Driver {
    /// `VkPhysicalDeviceProperties::vendorID` (the PCI vendor).
    pub vendor: u32,
    /// `VkPhysicalDeviceDriverProperties::driverName` ("radv", "NVK").
    pub name: String,
    /// `VkPhysicalDeviceProperties::deviceName`.
    pub device: String,
    /// `VkPhysicalDeviceDriverProperties::driverInfo` ("Mesa 25.0.7-2").
    pub info: String,
}

/// The bindings of an entry point: (binding, uniform or storage).
fn bindings(entry_point: &str) -> Vec<(u32, vk::DescriptorType)> {
    let (u, s) = (
        vk::DescriptorType::UNIFORM_BUFFER,
        vk::DescriptorType::STORAGE_BUFFER,
    );
    if entry_point == "search_header" {
        vec![(0, u), (1, s)]
    } else {
        vec![(2, u), (3, s), (4, s)]
    }
}

/// The SPIR-V version wgpu writes for a device of `api` version.
pub fn spirv_version(api: u32) -> (u8, u8) {
    match (vk::api_version_major(api), vk::api_version_minor(api)) {
        (1, 0) => (1, 0),
        (1, 1) => (1, 3),
        (1, 2) => (1, 5),
        _ => (1, 6),
    }
}

/// The device's Vulkan version and what it is, without creating a device.
pub fn probe() -> Result<(u32, Driver), String> {
    with_instance(|instance, pd| {
        // SAFETY: `pd` comes from `instance`, which is alive; the chained
        // struct outlives the call.
        let (props, info) = unsafe {
            let mut driver = vk::PhysicalDeviceDriverProperties::default();
            let properties = {
                let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut driver);
                instance.get_physical_device_properties2(pd, &mut props2);
                props2.properties
            };
            let text = |s: Result<&CStr, _>| {
                s.map(|s: &CStr| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            let info = (
                text(driver.driver_name_as_c_str()),
                text(driver.driver_info_as_c_str()),
            );
            (properties, info)
        };
        let device = props
            .device_name_as_c_str()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok((
            props.api_version,
            Driver {
                vendor: props.vendor_id,
                name: info.0,
                device,
                info: info.1,
            },
        ))
    })
}

/// Creates the compute pipeline of `spirv`'s `entry_point`.
pub fn compile(spirv: &[u32], entry_point: &str) -> Result<(), String> {
    with_instance(|instance, pd| {
        fn vk_err(what: &'static str) -> impl Fn(vk::Result) -> String {
            move |e| format!("{what}: {e}")
        }
        // SAFETY: every handle below is created from the live instance or
        // device and destroyed before them, in reverse order; every create
        // info borrows locals that outlive its call.
        unsafe {
            let family = instance
                .get_physical_device_queue_family_properties(pd)
                .iter()
                .position(|q| q.queue_flags.contains(vk::QueueFlags::COMPUTE))
                .ok_or("the device has no compute queue")? as u32;
            let priorities = [1.0];
            let queues = [vk::DeviceQueueCreateInfo::default()
                .queue_family_index(family)
                .queue_priorities(&priorities)];
            let device = instance
                .create_device(
                    pd,
                    &vk::DeviceCreateInfo::default().queue_create_infos(&queues),
                    None,
                )
                .map_err(vk_err("vkCreateDevice"))?;
            let result = (|| {
                let module = device
                    .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(spirv), None)
                    .map_err(vk_err("vkCreateShaderModule"))?;
                let layout_bindings: Vec<_> = bindings(entry_point)
                    .into_iter()
                    .map(|(b, t)| {
                        vk::DescriptorSetLayoutBinding::default()
                            .binding(b)
                            .descriptor_type(t)
                            .descriptor_count(1)
                            .stage_flags(vk::ShaderStageFlags::COMPUTE)
                    })
                    .collect();
                let set_layout = device
                    .create_descriptor_set_layout(
                        &vk::DescriptorSetLayoutCreateInfo::default().bindings(&layout_bindings),
                        None,
                    )
                    .map_err(vk_err("vkCreateDescriptorSetLayout"))?;
                let set_layouts = [set_layout];
                let layout = device
                    .create_pipeline_layout(
                        &vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts),
                        None,
                    )
                    .map_err(vk_err("vkCreatePipelineLayout"))?;
                let name = CString::new(entry_point).map_err(|e| e.to_string())?;
                let stage = vk::PipelineShaderStageCreateInfo::default()
                    .stage(vk::ShaderStageFlags::COMPUTE)
                    .module(module)
                    .name(&name);
                let info = [vk::ComputePipelineCreateInfo::default()
                    .stage(stage)
                    .layout(layout)];
                let made = device
                    .create_compute_pipelines(vk::PipelineCache::null(), &info, None)
                    .map_err(|(_, e)| format!("vkCreateComputePipelines: {e}"));
                if let Ok(pipelines) = &made {
                    for p in pipelines {
                        device.destroy_pipeline(*p, None);
                    }
                }
                device.destroy_pipeline_layout(layout, None);
                device.destroy_descriptor_set_layout(set_layout, None);
                device.destroy_shader_module(module, None);
                made.map(|_| ())
            })();
            device.destroy_device(None);
            result
        }
    })
}

/// Runs `f` with an instance and its first physical device.
fn with_instance<T>(
    f: impl FnOnce(&ash::Instance, vk::PhysicalDevice) -> Result<T, String>,
) -> Result<T, String> {
    // SAFETY: loading the system's Vulkan loader runs its initialisers,
    // which is what any Vulkan program does; the instance is destroyed
    // after `f`, which gets it only by reference.
    unsafe {
        let entry = ash::Entry::load().map_err(|e| format!("no Vulkan loader: {e}"))?;
        let app_name: &CStr = c"hashrig kernel_isa";
        let app = vk::ApplicationInfo::default()
            .application_name(app_name)
            .api_version(vk::API_VERSION_1_3);
        let instance = entry
            .create_instance(
                &vk::InstanceCreateInfo::default().application_info(&app),
                None,
            )
            .map_err(|e| format!("vkCreateInstance: {e}"))?;
        let result = match instance.enumerate_physical_devices() {
            Ok(pds) if !pds.is_empty() => f(&instance, pds[0]),
            Ok(_) => Err("the driver found no device".to_string()),
            Err(e) => Err(format!("vkEnumeratePhysicalDevices: {e}")),
        };
        instance.destroy_instance(None);
        result
    }
}
