//! `summary.json`.

use std::path::Path;

use anyhow::Context;

use crate::metrics::Summary;

pub fn write_summary(path: &Path, s: &Summary) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(s)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

pub fn read_summary(path: &Path) -> anyhow::Result<Summary> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a headroom summary", path.display()))
}
