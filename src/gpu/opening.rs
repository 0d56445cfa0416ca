//! Opening the GPUs an engine asks for, in one call: select the adapters,
//! take each one's launch settings from the calibration cache (or
//! calibrate and cache them now), open it and self-test it. A GPU that
//! fails any step is left out with a warning; the others go on.

use std::time::Duration;

use super::{adapters, cached_or_calibrate, select, GpuDevice, GpuWorker, KernelForm};
use crate::Error;

/// The GPUs opened, and a warning for each one left out (and for each
/// cache problem met on the way).
pub struct Opened {
    /// The GPUs that passed their self-test, in selection order, each
    /// able to be opened again on its adapter.
    pub devices: Vec<GpuWorker>,
    /// One line per GPU left out or cache entry ignored.
    pub warnings: Vec<String>,
}

/// Selects the adapters `selectors` name (the automatic choice when
/// empty), then calibrates (for `batch_time`, or from the cache unless
/// `recalibrate`; with only the kernel `form` when one is forced), opens
/// and self-tests each. Fails only on a selector that matches nothing or
/// is malformed.
pub fn open_selected(
    selectors: &[String],
    batch_time: Duration,
    recalibrate: bool,
    form: Option<KernelForm>,
) -> Result<Opened, Error> {
    let all = adapters();
    let mut opened = Opened {
        devices: Vec::new(),
        warnings: Vec::new(),
    };
    for entry in select(&all, selectors)? {
        let device = cached_or_calibrate(&entry, batch_time, recalibrate, form).and_then(
            |(calibration, cache_warnings)| {
                opened.warnings.extend(cache_warnings);
                let d = GpuDevice::open(&entry, calibration.config)?;
                d.self_test()?;
                Ok(d)
            },
        );
        match device {
            Ok(d) => opened.devices.push(GpuWorker::on_adapter(d, entry.clone())),
            Err(e) => opened
                .warnings
                .push(format!("leaving out {}: {e}", entry.label())),
        }
    }
    Ok(opened)
}
