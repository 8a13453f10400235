//! The error of a file the user wrote — a scenario, a plan or a catalog —
//! pointing at the offending text: file, line, column, what was expected,
//! and the line itself with a caret. Command-line values that have no place
//! in a file are `Flags`.

use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reason is in the message, not a `source`: error chains would
    /// print it twice.
    #[error("cannot read {}: {io}", path.display())]
    Read { path: PathBuf, io: std::io::Error },
    #[error("{}:{line}:{column}: {message}\n{excerpt}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        excerpt: String,
    },
    /// A problem with command-line values that have no place in a file.
    #[error("{0}")]
    Flags(String),
}

impl Error {
    /// Builds a located error from a byte span into `source`.
    pub fn at(
        path: &Path,
        source: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Error {
        let span = span.unwrap_or(0..0);
        // Spans computed into a value (a template's `{{`) may land inside
        // a multibyte character: step back to a boundary.
        let mut start = span.start.min(source.len());
        while !source.is_char_boundary(start) {
            start -= 1;
        }
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..start].chars().count() + 1;
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let text = source[line_start..line_end].trim_end_matches('\r');
        let mut end = span.end.clamp(start, line_end);
        while !source.is_char_boundary(end) {
            end -= 1;
        }
        let width = source[start..end].chars().count().max(1);
        let gutter = " ".repeat(line.to_string().len());
        let excerpt = format!(
            "{gutter} |\n{line} | {text}\n{gutter} | {}{}",
            " ".repeat(column - 1),
            "^".repeat(width)
        );
        Error::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
            excerpt,
        }
    }
}
