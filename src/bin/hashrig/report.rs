//! Every command builds its results as values once and renders them here
//! twice: as text for people or as JSON Lines (one object per line with a
//! `"type"` tag) for scripts.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

/// A result line of a command.
pub(crate) trait Report: Serialize {
    /// The JSON Lines `"type"` tag.
    const TYPE: &'static str;

    /// The line for people.
    fn text(&self) -> String;

    /// Whether the text form goes to stderr (a closing summary of a search:
    /// stdout then holds only results).
    fn text_on_stderr(&self) -> bool {
        false
    }
}

/// Where results go: stdout, as text or JSON Lines; and, where an API
/// runs, into the rig's events for the dashboard.
pub(crate) struct Output {
    json: bool,
    out: std::io::StdoutLock<'static>,
    rig: Option<std::sync::Arc<hashrig::api::Rig>>,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output {
            json,
            out: std::io::stdout().lock(),
            rig: None,
        }
    }

    /// Every line from now on is also an event of `rig`.
    pub fn record_to(&mut self, rig: std::sync::Arc<hashrig::api::Rig>) {
        self.rig = Some(rig);
    }

    /// Writes one report and flushes it, so that a reader sees it at once.
    /// Printed above the live status, which is drawn again under it.
    pub fn emit<R: Report>(&mut self, report: &R) -> Result<()> {
        if let Some(rig) = &self.rig {
            // The event's kind is shown beside its text: "share accepted …",
            // not "share share accepted …".
            let text = report.text();
            let text = text
                .strip_prefix(R::TYPE)
                .and_then(|t| t.strip_prefix(' '))
                .unwrap_or(&text);
            rig.record(R::TYPE, text);
        }
        crate::status::above(|| {
            if self.json {
                let mut value = serde_json::to_value(report)?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("type".into(), R::TYPE.into());
                }
                writeln!(self.out, "{value}")?;
            } else if report.text_on_stderr() {
                eprintln!("{}", report.text());
            } else {
                writeln!(self.out, "{}", report.text())?;
            }
            self.out.flush()?;
            Ok(())
        })
    }

    /// Writes a line of text that only the text form has (a closing count).
    pub fn text_only(&mut self, line: &str) -> Result<()> {
        if !self.json {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }
}
