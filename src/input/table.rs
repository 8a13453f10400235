//! User tables (CSV or Parquet) read with polars, with located errors.
//!
//! CSV is read with every column as text so that a bad cell is reported with
//! its line (the header is line 1) and the text found, instead of a silent
//! null from type inference.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::BadInput;

/// One column's cells, as found in the file.
pub enum Cells {
    /// CSV, or a Parquet string column.
    Text(Vec<Option<String>>),
    /// A numeric Parquet column.
    Number(Vec<Option<f64>>),
    /// A Parquet datetime column: epoch seconds (UTC) and its time zone.
    Instant(Vec<Option<i64>>, Option<String>),
}

pub struct Table {
    path: PathBuf,
    df: DataFrame,
    csv: bool,
}

/// The first line (1-based) of a CSV file whose field count differs from
/// the header's: (line, fields found, fields expected). Quoted fields may
/// hold commas and line breaks; blank lines are skipped, as polars does.
fn ragged_row(path: &Path) -> Option<(usize, usize, usize)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (mut line, mut start_line) = (1, 1);
    let (mut fields, mut quoted, mut empty) = (1, false, true);
    let mut expected = None;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                empty = false;
            }
            ',' if !quoted => {
                fields += 1;
                empty = false;
            }
            '\n' if quoted => line += 1,
            '\n' => {
                if !empty {
                    match expected {
                        None => expected = Some(fields),
                        Some(n) if n != fields => return Some((start_line, fields, n)),
                        Some(_) => {}
                    }
                }
                line += 1;
                start_line = line;
                (fields, empty) = (1, true);
            }
            '\r' => {}
            _ => empty = false,
        }
    }
    match expected {
        Some(n) if !empty && n != fields => Some((start_line, fields, n)),
        _ => None,
    }
}

impl Table {
    /// Reads a table with at least one row.
    pub fn read(path: &Path) -> Result<Table, BadInput> {
        let t = Table::read_any(path)?;
        if t.is_empty() {
            return Err(BadInput(format!(
                "{}: the table has no rows",
                path.display()
            )));
        }
        Ok(t)
    }

    /// Reads a table, which may have no rows.
    pub fn read_any(path: &Path) -> Result<Table, BadInput> {
        let bad = |e: &dyn std::fmt::Display| BadInput(format!("{}: {e}", path.display()));
        let parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if !parquet {
            let bytes = std::fs::read(path).map_err(|e| bad(&e))?;
            return Table::from_csv(path, bytes);
        }
        let file = File::open(path).map_err(|e| bad(&e))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| bad(&format!("not a Parquet table: {e}")))?;
        Ok(Table {
            path: path.to_path_buf(),
            df,
            csv: false,
        })
    }

    /// A CSV table from `bytes` (the contents of `path`, or a part of them).
    pub fn from_csv(path: &Path, bytes: Vec<u8>) -> Result<Table, BadInput> {
        let bad = |e: &dyn std::fmt::Display| BadInput(format!("{}: {e}", path.display()));
        let df = CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .into_reader_with_file_handle(std::io::Cursor::new(bytes))
                .finish()
                .map_err(|e| match ragged_row(path) {
                    Some((line, found, expected)) => BadInput(format!(
                        "{}:{line}: not a CSV table: expected {expected} fields as in the header line, found {found}",
                        path.display()
                    )),
                    None => bad(&format!("not a CSV table (a header line, then rows): {e}")),
                })?;
        Ok(Table {
            path: path.to_path_buf(),
            df,
            csv: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.df.height()
    }

    pub fn is_empty(&self) -> bool {
        self.df.height() == 0
    }

    pub fn columns(&self) -> Vec<String> {
        self.df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// Where row `i` is, for error messages: `file:line` for CSV (header on
    /// line 1), `file row N` for Parquet.
    pub fn at(&self, row: usize) -> String {
        if self.csv {
            format!("{}:{}", self.path.display(), row + 2)
        } else {
            format!("{} row {}", self.path.display(), row + 1)
        }
    }

    /// The column for `role`: the one named by the user, or else the first
    /// whose name (case-insensitively) is one of `candidates`.
    pub fn pick(
        &self,
        explicit: Option<&str>,
        role: &str,
        flag: &str,
        candidates: &[&str],
    ) -> Result<String, BadInput> {
        let names = self.columns();
        if let Some(name) = explicit {
            return names.iter().find(|n| *n == name).cloned().ok_or_else(|| {
                BadInput(format!(
                    "{}: no column named `{name}`; columns are: {}",
                    self.path.display(),
                    names.join(", ")
                ))
            });
        }
        candidates
            .iter()
            .find_map(|c| names.iter().find(|n| n.eq_ignore_ascii_case(c)))
            .cloned()
            .ok_or_else(|| {
                BadInput(format!(
                    "{}: cannot tell which column holds the {role} (looked for {}); \
                     columns are: {}; name it with {flag}",
                    self.path.display(),
                    candidates.join(", "),
                    names.join(", ")
                ))
            })
    }

    pub fn cells(&self, name: &str) -> Result<Cells, BadInput> {
        let bad = |e: &dyn std::fmt::Display| BadInput(format!("{}: {e}", self.path.display()));
        let col = self.df.column(name).map_err(|e| bad(&e))?;
        match col.dtype() {
            DataType::String => Ok(Cells::Text(
                col.str()
                    .map_err(|e| bad(&e))?
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect(),
            )),
            DataType::Datetime(unit, tz) => {
                let per_second = match unit {
                    TimeUnit::Nanoseconds => 1_000_000_000,
                    TimeUnit::Microseconds => 1_000_000,
                    TimeUnit::Milliseconds => 1_000,
                };
                let raw = col.cast(&DataType::Int64).map_err(|e| bad(&e))?;
                let values = raw
                    .i64()
                    .map_err(|e| bad(&e))?
                    .iter()
                    .map(|v| v.map(|v| v.div_euclid(per_second)))
                    .collect();
                Ok(Cells::Instant(values, tz.as_ref().map(|t| t.to_string())))
            }
            DataType::Date => {
                let raw = col.cast(&DataType::Int32).map_err(|e| bad(&e))?;
                let values = raw
                    .i32()
                    .map_err(|e| bad(&e))?
                    .iter()
                    .map(|v| v.map(|d| i64::from(d) * 86_400))
                    .collect();
                Ok(Cells::Instant(values, None))
            }
            dt if dt.is_primitive_numeric() => {
                let raw = col.cast(&DataType::Float64).map_err(|e| bad(&e))?;
                Ok(Cells::Number(
                    raw.f64().map_err(|e| bad(&e))?.iter().collect(),
                ))
            }
            other => Err(bad(&format!(
                "column `{name}` has type {other}, expected numbers, text or datetimes"
            ))),
        }
    }

    /// A numeric column whose cells may be empty (`None`); a cell that holds
    /// something else is an error naming its line.
    pub fn optional_numbers(&self, name: &str) -> Result<Vec<Option<f64>>, BadInput> {
        let cells = match self.cells(name)? {
            Cells::Number(v) => return Ok(v),
            Cells::Text(v) => v,
            Cells::Instant(..) => {
                return Err(BadInput(format!(
                    "{}: column `{name}` holds timestamps, expected numbers",
                    self.path.display()
                )))
            }
        };
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| match c.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(t) => t.parse::<f64>().map(Some).map_err(|_| {
                    BadInput(format!(
                        "{}: column `{name}`: expected a number, found `{t}`",
                        self.at(i)
                    ))
                }),
            })
            .collect()
    }

    /// A numeric column; every cell must be a finite number.
    pub fn numbers(&self, name: &str) -> Result<Vec<f64>, BadInput> {
        self.optional_numbers(name)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Some(v) if v.is_finite() => Ok(v),
                _ => Err(BadInput(format!(
                    "{}: column `{name}`: expected a number, found `{}`",
                    self.at(i),
                    self.text_at(name, i)
                ))),
            })
            .collect()
    }

    /// The cell as written, for error messages.
    pub fn text_at(&self, name: &str, row: usize) -> String {
        self.df
            .column(name)
            .ok()
            .and_then(|c| c.get(row).ok().map(|v| v.to_string()))
            .map(|s| s.trim_matches('"').to_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_row_with_another_field_count_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        // Line 4 opens a quoted field holding a comma and a line break.
        std::fs::write(&p, "a,b\n1,2\n\n\"x,\ny\",3\n4,5,6\n").unwrap();
        assert_eq!(super::ragged_row(&p), Some((6, 3, 2)));
        std::fs::write(&p, "a,b\r\n1,2\r\n3,4").unwrap();
        assert_eq!(super::ragged_row(&p), None);
        std::fs::write(&p, "a,b\n1,2\n3").unwrap();
        assert_eq!(super::ragged_row(&p), Some((3, 1, 2)));
    }
}
