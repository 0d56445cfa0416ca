//! `hashrig selftest`: the library's known-answer tests on every CPU kernel
//! and GPU adapter.

use anyhow::Result;
use serde::Serialize;

use crate::report::{Output, Report};

/// One device's result.
#[derive(Serialize)]
struct SelftestLine {
    device: String,
    ok: bool,
    error: Option<String>,
}

impl Report for SelftestLine {
    const TYPE: &'static str = "selftest";
    fn text(&self) -> String {
        match &self.error {
            None => format!("ok    {}", self.device),
            Some(e) => format!("FAIL  {}: {e}", self.device),
        }
    }
}

pub(crate) fn selftest(json: bool) -> Result<u8> {
    let outcomes = hashrig::selftest::all();
    let mut out = Output::new(json);
    for o in &outcomes {
        out.emit(&SelftestLine {
            device: o.device.clone(),
            ok: o.result.is_ok(),
            error: o.result.as_ref().err().map(ToString::to_string),
        })?;
    }
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    out.text_only(&format!(
        "{} passed, {failed} failed",
        outcomes.len() - failed
    ))?;
    Ok(if failed == 0 { 0 } else { 1 })
}
