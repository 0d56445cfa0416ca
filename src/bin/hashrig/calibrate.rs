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
    /// Measure only this GPU kernel form: constant-rotates,
    /// rotation-amounts (default: every form, keeping the fastest).
    #[arg(long, value_name = "FORM", value_parser = args::parse_kernel_form)]
    kernel_form: Option<gpu::KernelForm>,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

/// One kernel form tried.
#[derive(Serialize)]
struct FormTried {
    form: &'static str,
    /// At the default launch settings; none when the form was not usable.
    mhs: Option<f64>,
    /// Why it was not used (it failed to build or failed the self-test).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
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
    kernel_form: &'static str,
    workgroup_size: u32,
    nonces_per_invocation: u32,
    batch_nonces: u32,
    batch_ms: u64,
    mhs: f64,
    seconds: f64,
    measured: Vec<Tried>,
    forms: Vec<FormTried>,
    cache: Option<String>,
}

impl Report for CalibrationLine {
    const TYPE: &'static str = "calibration";
    fn text(&self) -> String {
        let forms = form_rates(self.forms.iter().map(|f| (f.form, f.mhs)));
        format!(
            "{}: kernel {} ({}), workgroup {} x {} nonces, {} nonces/batch, {:.2} MH/s ({:.2} s)",
            self.device,
            self.kernel_form,
            forms,
            self.workgroup_size,
            self.nonces_per_invocation,
            self.batch_nonces,
            self.mhs,
            self.seconds
        )
    }
}

/// Each kernel form's rate as text (`constant-rotates 42.10 MH/s,
/// rotation-amounts unusable`), for `calibrate` and `devices`.
pub(crate) fn form_rates<'a>(forms: impl Iterator<Item = (&'a str, Option<f64>)>) -> String {
    forms
        .map(|(form, mhs)| match mhs {
            Some(mhs) => format!("{form} {mhs:.2} MH/s"),
            None => format!("{form} unusable"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn calibrate(a: CalibrateArgs) -> Result<u8> {
    let all = gpu::adapters();
    let chosen = gpu::select(&all, &a.devices)?;
    if chosen.is_empty() {
        bail!("calibrate: no usable GPU adapter (name one with --device, e.g. llvmpipe)");
    }
    let mut out = Output::new(a.json);
    for entry in &chosen {
        let (c, warnings) = gpu::cached_or_calibrate(
            entry,
            Duration::from_millis(a.batch_ms),
            true,
            a.kernel_form,
        )?;
        for w in warnings {
            eprintln!("hashrig: warning: {w}");
        }
        out.emit(&CalibrationLine {
            device: entry.label(),
            kernel_form: c.config.form.map_or("", |f| f.name()),
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
            forms: c
                .forms
                .iter()
                .map(|t| FormTried {
                    form: t.form.name(),
                    mhs: t.rate.as_ref().ok().map(|r| r / 1e6),
                    error: t.rate.as_ref().err().cloned(),
                })
                .collect(),
            cache: gpu::cache_path().map(|p| p.display().to_string()),
        })?;
    }
    Ok(0)
}
