//! Every file headroom writes and reads back, in both directions: one serde
//! type per format (`Serialize + Deserialize`, the JSON on the wire
//! documented by its schema name), the interval logs, the per-second time
//! series, and [`ResultsDir`], which `report`, `compare` and `merge` read
//! results directories through.
//!
//! Reading is strict: a file that is present but lacks a field, or holds
//! the wrong type, is an error naming the file, the place and the field —
//! never a zero on a page.

pub mod find;
pub mod plan;
pub mod scenario;
pub mod stress;
pub mod summary;
pub mod sweep;
pub mod verdict;

use std::path::Path;

use anyhow::Context;

use crate::exit::BadInput;

/// Pretty JSON with a final newline.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Reads a result file into its type; `what` names it in errors ("a
/// headroom find result"). A file that does not parse is bad input
/// located by line and column: `find.json:1:2043: not a headroom find
/// result: missing field `sustainable_rps``.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, BadInput> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("reading {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        BadInput(format!(
            "{}:{}:{}: not {what}: {msg}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}
