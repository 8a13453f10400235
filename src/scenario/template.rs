//! `{{ name }}` templates in paths, headers, bodies and expectations.
//!
//! A template is parsed once, at validation, into literal text and
//! variables resolved to where their value comes from; sending renders it
//! into a buffer with no parsing and no lookups by name. Names:
//!
//! * `{{ SOURCE.COLUMN }}` — a column of a `[data.SOURCE]` file;
//! * `{{ env.NAME }}` — an environment variable, read when the scenario is
//!   loaded (for secrets: results and reports keep the template text, never
//!   the value);
//! * `{{ uuid }}`, `{{ counter }}`, `{{ random_int(A, B) }}` — built-ins;
//! * `{{ NAME }}` — a value extracted by an earlier step of the same flow.

use std::fmt::Write as _;
use std::sync::Arc;

/// A parsed template; `source` is the text as written (what reports show).
#[derive(Clone, PartialEq)]
pub struct Text {
    pub source: String,
    parts: Vec<Part>,
}

/// The source only: an environment value must not reach a log, an error
/// or the scenario digest through `{:?}`.
impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Text({:?})", self.source)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(Var),
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// Column `column` of data source `source`.
    Data {
        source: usize,
        column: usize,
    },
    /// An environment variable's value (kept out of every output).
    Env(Arc<str>),
    Uuid,
    /// A number unique to each flow run (the arrival's index in the open model).
    Counter,
    /// Uniform in `lo..=hi`.
    RandomInt(i64, i64),
    /// Slot `n` of the values the flow extracted so far.
    Extracted(usize),
}

/// What names mean where a template is parsed.
pub trait Names {
    /// `(source, column)` for `SOURCE.COLUMN`, or an error saying what exists.
    fn data(&self, source: &str, column: &str) -> Option<Result<(usize, usize), String>>;
    /// The slot of a value extracted by an earlier step.
    fn extracted(&self, name: &str) -> Option<usize>;
    /// What is known, for the error message.
    fn known(&self) -> String;
}

/// Where rendering takes its values from.
pub trait Values {
    fn data(&self, source: usize, column: usize) -> &str;
    fn extracted(&self, slot: usize) -> &str;
    fn counter(&self) -> u64;
    /// 128 random bits (uuid) or a uniform draw in `lo..=hi`.
    fn random_u128(&mut self) -> u128;
    fn random_int(&mut self, lo: i64, hi: i64) -> i64;
}

impl Text {
    /// A template without variables.
    pub fn literal(s: &str) -> Text {
        Text {
            source: s.to_string(),
            parts: if s.is_empty() {
                Vec::new()
            } else {
                vec![Part::Lit(s.to_string())]
            },
        }
    }

    /// Parses `text`; errors give the bytes of `text` they are about (the
    /// name inside `{{ }}`, or an unclosed `{{`) and a message.
    /// `env` reads environment variables (a parameter so tests need not
    /// touch the process environment).
    pub fn parse(
        text: &str,
        names: &dyn Names,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Text, (std::ops::Range<usize>, String)> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            let Some(close) = rest[open + 2..].find("}}") else {
                let at = offset + open;
                return Err((at..at + 2, "`{{` without a closing `}}`".into()));
            };
            let inner = &rest[open + 2..open + 2 + close];
            // The name itself, past the spaces around it.
            let name = inner.trim();
            let at = offset + open + 2 + (inner.len() - inner.trim_start().len());
            parts.push(Part::Var(
                resolve(name, names, env).map_err(|m| (at..at + name.len().max(1), m))?,
            ));
            let consumed = open + 2 + close + 2;
            rest = &rest[consumed..];
            offset += consumed;
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        // Adjacent literals never occur: each variable separates them.
        Ok(Text {
            source: text.to_string(),
            parts,
        })
    }

    /// True when rendering always gives the same text (literals and
    /// environment values only).
    pub fn is_static(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, Part::Lit(_) | Part::Var(Var::Env(_))))
    }

    /// The text of a [static](Self::is_static) template, environment
    /// values substituted.
    /// `escape` percent-encodes the values, as [`render_into`](Self::render_into).
    pub fn render_static(&self, escape: bool) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(Var::Env(v)) => push_value(&mut out, v, escape),
                Part::Var(_) => {}
            }
        }
        out
    }

    /// Appends the rendered text to `out`; `escape` percent-encodes
    /// variable values (for paths: a value is data, not URL structure).
    /// Numbers and uuids are unreserved characters already.
    pub fn render_into(&self, out: &mut String, values: &mut dyn Values, escape: bool) {
        for p in &self.parts {
            let text = match p {
                Part::Lit(s) => {
                    out.push_str(s);
                    continue;
                }
                Part::Var(Var::Counter) => {
                    let _ = write!(out, "{}", values.counter());
                    continue;
                }
                Part::Var(Var::RandomInt(lo, hi)) => {
                    let _ = write!(out, "{}", values.random_int(*lo, *hi));
                    continue;
                }
                Part::Var(Var::Uuid) => {
                    write_uuid(out, values.random_u128());
                    continue;
                }
                Part::Var(Var::Env(s)) => &**s,
                Part::Var(Var::Data { source, column }) => values.data(*source, *column),
                Part::Var(Var::Extracted(n)) => values.extracted(*n),
            };
            push_value(out, text, escape);
        }
    }

    pub fn render(&self, values: &mut dyn Values, escape: bool) -> String {
        let mut s = String::new();
        self.render_into(&mut s, values, escape);
        s
    }
}

fn resolve(
    name: &str,
    names: &dyn Names,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Var, String> {
    match name {
        "" => return Err("empty `{{ }}`: expected a name".into()),
        "uuid" => return Ok(Var::Uuid),
        "counter" => return Ok(Var::Counter),
        _ => {}
    }
    if let Some(args) = name
        .strip_prefix("random_int(")
        .and_then(|a| a.strip_suffix(')'))
    {
        let nums: Vec<Option<i64>> = args.split(',').map(|a| a.trim().parse().ok()).collect();
        return match nums.as_slice() {
            [Some(lo), Some(hi)] if lo <= hi => Ok(Var::RandomInt(*lo, *hi)),
            _ => Err(format!(
                "expected random_int(LOW, HIGH) with integers LOW ≤ HIGH, found {name:?}"
            )),
        };
    }
    if let Some(var) = name.strip_prefix("env.") {
        return match env(var) {
            Some(v) => Ok(Var::Env(v.into())),
            None => Err(format!("environment variable {var} is not set")),
        };
    }
    if let Some((source, column)) = name.split_once('.') {
        if let Some(r) = names.data(source, column) {
            return r.map(|(source, column)| Var::Data { source, column });
        }
    }
    if let Some(slot) = names.extracted(name) {
        return Ok(Var::Extracted(slot));
    }
    Err(format!(
        "unknown name {name:?}: expected {}, env.NAME, uuid, counter or random_int(LOW, HIGH)",
        names.known()
    ))
}

/// RFC 9562 version 4 (random) UUID text.
fn write_uuid(out: &mut String, bits: u128) {
    let b = uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid();
    let _ = write!(out, "{}", b.hyphenated());
}

/// Everything but RFC 3986's unreserved characters.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn push_value(out: &mut String, value: &str, escape: bool) {
    if escape {
        out.extend(percent_encoding::utf8_percent_encode(value, NOT_UNRESERVED));
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct N;
    impl Names for N {
        fn data(&self, source: &str, column: &str) -> Option<Result<(usize, usize), String>> {
            (source == "users").then(|| match column {
                "name" => Ok((0, 1)),
                _ => Err(format!("users has no column {column:?}")),
            })
        }
        fn extracted(&self, name: &str) -> Option<usize> {
            (name == "token").then_some(3)
        }
        fn known(&self) -> String {
            "users.COLUMN or token".into()
        }
    }

    struct V(u64);
    impl Values for V {
        fn data(&self, _: usize, _: usize) -> &str {
            "ann lee/1"
        }
        fn extracted(&self, _: usize) -> &str {
            "abc"
        }
        fn counter(&self) -> u64 {
            self.0
        }
        fn random_u128(&mut self) -> u128 {
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef
        }
        fn random_int(&mut self, lo: i64, _: i64) -> i64 {
            lo
        }
    }

    fn env(name: &str) -> Option<String> {
        (name == "SECRET").then(|| "s3cret".to_string())
    }

    fn parse(s: &str) -> Result<Text, (std::ops::Range<usize>, String)> {
        Text::parse(s, &N, &env)
    }

    #[test]
    fn renders_every_kind_of_name() {
        let t = parse("/u/{{ users.name }}?t={{token}}&n={{ counter }}&r={{ random_int(5, 9) }}")
            .unwrap();
        assert!(!t.is_static());
        assert_eq!(
            t.render(&mut V(7), true),
            "/u/ann%20lee%2F1?t=abc&n=7&r=5",
            "path values are percent-encoded"
        );
        assert_eq!(t.render(&mut V(7), false), "/u/ann lee/1?t=abc&n=7&r=5");
        let u = parse("{{ uuid }}").unwrap().render(&mut V(0), false);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4", "version 4: {u}");
        assert!("89ab".contains(&u[19..20]), "RFC variant: {u}");
    }

    #[test]
    fn env_values_render_but_the_source_keeps_the_name() {
        let t = parse("Bearer {{ env.SECRET }}").unwrap();
        assert!(t.is_static());
        assert_eq!(t.render_static(false), "Bearer s3cret");
        assert_eq!(
            parse("/k/{{ env.SECRET }}").unwrap().render_static(true),
            "/k/s3cret"
        );
        assert_eq!(t.source, "Bearer {{ env.SECRET }}");
        assert!(!format!("{t:?}").contains("s3cret"), "{t:?}");
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(parse("ab{{ x").unwrap_err().0, 2..4);
        // The name, not the space before it (the caret was one column early).
        let (at, msg) = parse("/{{ nope }}").unwrap_err();
        assert_eq!(at, 4..8);
        assert!(
            msg.contains("unknown name \"nope\"") && msg.contains("token"),
            "{msg}"
        );
        assert!(parse("{{ users.age }}")
            .unwrap_err()
            .1
            .contains("no column"));
        assert!(parse("{{ env.MISSING_X }}")
            .unwrap_err()
            .1
            .contains("not set"));
        assert!(parse("{{ random_int(9, 1) }}").is_err());
        assert!(parse("{{ }}").is_err());
        assert!(parse("plain").unwrap().is_static());
    }
}
