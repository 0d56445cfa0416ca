//! The adapter a GPU bench measures: the one `HASHRIG_DEVICE` names, else
//! the first one found (lavapipe on a machine without a GPU).

use hashrig::gpu::{adapters, select, AdapterEntry};

/// The adapter for `bench`, or None (said on stderr) when there is none.
pub fn chosen(bench: &str) -> Option<AdapterEntry> {
    let all = adapters();
    let chosen = select(&all, &[]).expect("valid HASHRIG_DEVICE");
    let entry = chosen.first().or(all.first()).cloned();
    if entry.is_none() {
        eprintln!("{bench}: no GPU adapter found; nothing measured");
    }
    entry
}
