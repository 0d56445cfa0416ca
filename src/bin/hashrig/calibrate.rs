//! `hashrig calibrate`: measures each selected GPU's launch settings now,
//! caches them and prints the choice.

use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use hashrig::gpu;
use serde::Serialize;

use crate::args;
use crate::report::{Output, Report};

#[derive(Args)]
pub(crate) struct CalibrateArgs {
    /// GPU selector: an index, part of the adapter name, or a PCI bus id.
    /// Repeat for several. Defaults to $HASHRIG_DEVICE, else every usable GPU.
    #[arg(long = "device", value_name = "SELECTOR")]
    devices: Vec<String>,
    /// GPU batch duration to aim for, in milliseconds.
    #[arg(long, default_value_t = 20, value_parser = args::parse_batch_ms)]
    batch_ms: u64,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

/// One setting tried.
#[derive(Serialize)]
struct Tried {
    workgroup_size: u32,
    nonces_per_invocation: u32,
    mhs: f64,
}

/// One GPU's calibration.
#[derive(Serialize)]
struct CalibrationLine {
    device: String,
    workgroup_size: u32,
    nonces_per_invocation: u32,
    batch_nonces: u32,
    batch_ms: u64,
    mhs: f64,
    seconds: f64,
    measured: Vec<Tried>,
    cache: Option<String>,
}

impl Report for CalibrationLine {
    const TYPE: &'static str = "calibration";
    fn text(&self) -> String {
        format!(
            "{}: workgroup {} x {} nonces, {} nonces/batch, {:.2} MH/s ({:.2} s)",
            self.device,
            self.workgroup_size,
            self.nonces_per_invocation,
            self.batch_nonces,
            self.mhs,
            self.seconds
        )
    }
}

pub(crate) fn calibrate(a: CalibrateArgs) -> Result<u8> {
    let all = gpu::adapters();
    let chosen = gpu::select(&all, &a.devices)?;
    if chosen.is_empty() {
        bail!("calibrate: no usable GPU adapter (name one with --device, e.g. llvmpipe)");
    }
    let mut out = Output::new(a.json);
    for entry in &chosen {
        let (c, warnings) =
            gpu::cached_or_calibrate(entry, Duration::from_millis(a.batch_ms), true)?;
        for w in warnings {
            eprintln!("hashrig: warning: {w}");
        }
        out.emit(&CalibrationLine {
            device: entry.label(),
            workgroup_size: c.config.workgroup_size,
            nonces_per_invocation: c.config.nonces_per_invocation,
            batch_nonces: c.config.batch_nonces,
            batch_ms: a.batch_ms,
            mhs: c.rate / 1e6,
            seconds: c.took.as_secs_f64(),
            measured: c
                .measured
                .iter()
                .map(|&(workgroup_size, nonces_per_invocation, rate)| Tried {
                    workgroup_size,
                    nonces_per_invocation,
                    mhs: rate / 1e6,
                })
                .collect(),
            cache: gpu::cache_path().map(|p| p.display().to_string()),
        })?;
    }
    Ok(0)
}
