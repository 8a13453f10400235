//! `[data.NAME]`, `[[request]]` and `[[flow]]`: data files read once,
//! templates parsed against the names in scope, steps, expectations and
//! extractions checked.

use std::path::Path;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use super::check::{is_ident, is_name, Ctx};
use super::flow::{ExtractFrom, JsonValue};
use super::raw;
use super::template::Names;
use super::{DataOrder, DataSource, Error, Expect, Extraction, FlowSpec, RequestSpec, Text};
use toml::Spanned;

/// The names a template may use at one step: data columns, and the values
/// earlier steps of the same flow extracted.
struct Scope<'a> {
    data: &'a [DataSource],
    extracted: &'a [(String, usize)],
}

impl Names for Scope<'_> {
    fn data(&self, source: &str, column: &str) -> Option<Result<(usize, usize), String>> {
        let (si, s) = self
            .data
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == source)?;
        Some(match s.columns.iter().position(|c| c == column) {
            Some(ci) => Ok((si, ci)),
            None => Err(format!(
                "data source {source:?} ({}) has no column {column:?}; its columns: {}",
                s.path.display(),
                s.columns.join(", ")
            )),
        })
    }
    fn extracted(&self, name: &str) -> Option<usize> {
        self.extracted
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, slot)| *slot)
    }
    fn known(&self) -> String {
        let mut k: Vec<String> = self
            .data
            .iter()
            .map(|s| format!("{}.COLUMN", s.name))
            .collect();
        k.extend(self.extracted.iter().map(|(n, _)| n.clone()));
        if k.is_empty() {
            "a [data.NAME] column (NAME.COLUMN), a value extracted by an earlier step".into()
        } else {
            k.join(", ")
        }
    }
}

impl Ctx<'_> {
    /// Parses a template, pointing errors at the offending `{{`.
    fn text(&self, v: &Spanned<String>, scope: &Scope) -> Result<Text, Error> {
        Text::parse(v.get_ref(), scope, &|n| std::env::var(n).ok()).or_else(|(at, m)| {
            let span = v.span();
            // +1 for the opening quote (exact for one-line basic strings).
            let start = (span.start + 1 + at.start).min(span.end);
            let end = (span.start + 1 + at.end).min(span.end);
            self.err(start..end, m)
        })
    }
}

/// `[data.NAME]`: each file read once, relative to the scenario.
pub(super) fn data(
    cx: &Ctx,
    raw: &std::collections::BTreeMap<String, Spanned<raw::Data>>,
) -> Result<Vec<DataSource>, Error> {
    let dir = cx.path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (name, d) in raw {
        let span = d.span();
        let d = d.get_ref();
        if !is_ident(name) || name == "env" {
            return cx.err(
                span,
                format!("data source name {name:?}: use letters, digits and '_' (not \"env\")"),
            );
        }
        let order = match d.order.as_ref().map(|o| o.get_ref().as_str()) {
            None | Some("sequential") => DataOrder::Sequential,
            Some("random") => DataOrder::Random,
            Some("unique") => DataOrder::Unique,
            Some(other) => {
                return cx.err(
                    d.order.as_ref().map_or(span.clone(), |o| o.span()),
                    format!(
                    "expected order = \"sequential\", \"random\" or \"unique\", found {other:?}"
                ),
                )
            }
        };
        let path = dir.join(d.file.get_ref());
        let table =
            crate::input::table::Table::read(&path).or_else(|e| cx.err(d.file.span(), e.0))?;
        let columns = table.columns();
        let mut rows = vec![Vec::with_capacity(columns.len()); table.len()];
        for c in &columns {
            let cells = table.cells(c).or_else(|e| cx.err(d.file.span(), e.0))?;
            let texts: Vec<String> = match cells {
                crate::input::table::Cells::Text(v) => {
                    v.into_iter().map(Option::unwrap_or_default).collect()
                }
                crate::input::table::Cells::Number(v) => v
                    .into_iter()
                    .map(|x| x.map(|x| x.to_string()).unwrap_or_default())
                    .collect(),
                crate::input::table::Cells::Instant(v, _) => v
                    .into_iter()
                    .map(|x| x.map(|x| x.to_string()).unwrap_or_default())
                    .collect(),
            };
            for (row, t) in rows.iter_mut().zip(texts) {
                row.push(t);
            }
        }
        out.push(DataSource {
            name: name.clone(),
            path,
            columns,
            rows,
            order,
        });
    }
    Ok(out)
}

/// `[[request]]`s (flows of one step) and `[[flow]]`s, flattened: every
/// step is a request with a name of its own.
pub(super) fn requests_and_flows(
    cx: &Ctx,
    reqs: &[Spanned<raw::Request>],
    raw_flows: &[Spanned<raw::Flow>],
    data: &[DataSource],
) -> Result<(Vec<RequestSpec>, Vec<FlowSpec>), Error> {
    if reqs.is_empty() && raw_flows.is_empty() {
        let r = vec![RequestSpec::get("default", "/")];
        let f = super::flows_of(&r);
        return Ok((r, f));
    }
    let mut out: Vec<RequestSpec> = Vec::new();
    let no_extracted: Vec<(String, usize)> = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let name = r
            .get_ref()
            .name
            .as_ref()
            .map_or(format!("request{}", i + 1), |n| n.get_ref().clone());
        let scope = Scope {
            data,
            extracted: &no_extracted,
        };
        let spec = step(cx, r, name, &scope, None)?;
        if let Some(n) = &r.get_ref().name {
            if out.iter().any(|o| o.name == spec.name) {
                return cx.err(
                    n.span(),
                    format!("a request named {:?} exists already", spec.name),
                );
            }
        }
        out.push(spec);
    }
    let mut flows = super::flows_of(&out);
    for f in raw_flows {
        let span = f.span();
        let f = f.get_ref();
        let fname = f.name.get_ref();
        if !is_name(fname) || fname.contains('/') {
            return cx.err(
                f.name.span(),
                "flow names may use letters, digits, '-', '_' and '.'",
            );
        }
        if flows.iter().any(|o| &o.name == fname) {
            return cx.err(
                f.name.span(),
                format!("a flow or request named {fname:?} exists already"),
            );
        }
        if f.steps.is_empty() {
            return cx.err(span, format!("flow {fname:?} has no [[flow.step]]"));
        }
        let weight = match &f.weight {
            Some(w) if *w.get_ref() == 0 => return cx.err(w.span(), "weight must be at least 1"),
            Some(w) => *w.get_ref(),
            None => 1,
        };
        let first = out.len();
        let mut extracted: Vec<(String, usize)> = Vec::new();
        for (i, s) in f.steps.iter().enumerate() {
            let sname = s
                .get_ref()
                .name
                .as_ref()
                .map_or(format!("step{}", i + 1), |n| n.get_ref().clone());
            let full = format!("{fname}/{sname}");
            if let Some(n) = &s.get_ref().name {
                if out.iter().any(|o| o.name == full) {
                    return cx.err(
                        n.span(),
                        format!("flow {fname:?} has two steps named {sname:?}"),
                    );
                }
            }
            let known = extracted.clone();
            let scope = Scope {
                data,
                extracted: &known,
            };
            let spec = step(cx, s, full, &scope, Some(&mut extracted))?;
            out.push(spec);
        }
        flows.push(FlowSpec {
            name: fname.clone(),
            weight,
            steps: first..out.len(),
            slots: extracted.len(),
        });
    }
    Ok((out, flows))
}

/// One request or flow step. `extracted` is the flow's named slots (new
/// names from this step's `extract` are added); `None` outside flows.
fn step(
    cx: &Ctx,
    r: &Spanned<raw::Request>,
    name: String,
    scope: &Scope,
    extracted: Option<&mut Vec<(String, usize)>>,
) -> Result<RequestSpec, Error> {
    let in_flow = extracted.is_some();
    let r = r.get_ref();
    if let Some(n) = &r.name {
        if !is_name(n.get_ref()) || n.get_ref().contains('/') {
            return cx.err(
                n.span(),
                "request and step names may use letters, digits, '-', '_' and '.'",
            );
        }
    }
    let method = match &r.method {
        Some(m) => {
            Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()).or_else(|_| {
                cx.err(
                    m.span(),
                    format!(
                        "expected an HTTP method such as GET or POST, found {:?}",
                        m.get_ref()
                    ),
                )
            })?
        }
        None => Method::GET,
    };
    let path = match &r.path {
        Some(p) => {
            let t = cx.text(p, scope)?;
            let v = p.get_ref();
            let bad = !v.starts_with('/')
                || (t.is_static()
                    && t.render_static(true)
                        .parse::<http::uri::PathAndQuery>()
                        .is_err());
            if bad {
                return cx.err(
                    p.span(),
                    format!("expected a path starting with '/', found {v:?}"),
                );
            }
            t
        }
        None => Text::literal("/"),
    };
    let mut headers = Vec::new();
    for (k, v) in &r.headers {
        let hname = HeaderName::from_bytes(k.as_bytes())
            .or_else(|_| cx.err(v.span(), format!("{k:?} is not a valid header name")))?;
        let t = cx.text(v, scope)?;
        if t.is_static() && HeaderValue::from_str(&t.render_static(false)).is_err() {
            return cx.err(
                v.span(),
                format!("header {k:?} has a value that cannot be sent"),
            );
        }
        headers.push((hname, t));
    }
    let body = match &r.body {
        Some(b) => cx.text(b, scope)?,
        None => Text::literal(""),
    };
    let weight = match (&r.weight, in_flow) {
        (Some(w), true) => {
            return cx.err(
                w.span(),
                "weight applies to the flow, not to one of its steps",
            )
        }
        (Some(w), false) if *w.get_ref() == 0 => {
            return cx.err(w.span(), "weight must be at least 1")
        }
        (Some(w), false) => *w.get_ref(),
        (None, _) => 1,
    };
    let think_time = match (&r.think_time, in_flow) {
        (Some(t), false) => {
            return cx.err(
                t.span(),
                "think_time applies to flow steps; for the closed model's pause between requests use [load] think_time",
            )
        }
        (Some(t), true) => cx.duration(t)?,
        (None, _) => Duration::ZERO,
    };
    let expect = match &r.expect {
        Some(e) => expect(cx, e, scope)?,
        None => Expect::default(),
    };
    let extract = extractions(cx, r, scope, extracted)?;
    Ok(RequestSpec {
        name,
        method,
        path,
        headers,
        body,
        weight,
        expect,
        extract,
        think_time,
    })
}

/// A flow step's `extract`: each value a named slot of the flow (a new
/// name takes the next one); outside flows, none may be given.
fn extractions(
    cx: &Ctx,
    r: &raw::Request,
    scope: &Scope,
    extracted: Option<&mut Vec<(String, usize)>>,
) -> Result<Vec<Extraction>, Error> {
    let mut extract = Vec::new();
    if let Some(slots) = extracted {
        for (xname, x) in &r.extract {
            if !is_ident(xname) || ["uuid", "counter", "env"].contains(&xname.as_str()) {
                return cx.err(
                    x.span(),
                    format!("extracted value {xname:?}: use letters, digits and '_', not uuid, counter or env"),
                );
            }
            if scope.data.iter().any(|d| &d.name == xname) {
                return cx.err(x.span(), format!("{xname:?} is a data source's name"));
            }
            let slot = match slots.iter().find(|(n, _)| n == xname) {
                Some((_, s)) => *s,
                None => {
                    slots.push((xname.clone(), slots.len()));
                    slots.len() - 1
                }
            };
            extract.push(extraction(cx, xname, slot, x)?);
        }
    } else if let Some((_, x)) = r.extract.iter().next() {
        return cx.err(
            x.span(),
            "extract applies to flow steps (a later step uses the value)",
        );
    }
    Ok(extract)
}

fn expect(cx: &Ctx, e: &Spanned<raw::Expect>, scope: &Scope) -> Result<Expect, Error> {
    let e = e.get_ref();
    let mut out = Expect::default();
    if let Some(st) = &e.status {
        let one = |v: &toml::Value| -> Result<Vec<u16>, String> {
            match v {
                toml::Value::Integer(i) if (100..=599).contains(i) => Ok(vec![*i as u16]),
                toml::Value::String(s)
                    if s.len() == 3
                        && s.ends_with("xx")
                        && ('1'..='5').contains(&s.chars().next().unwrap_or('0')) =>
                {
                    let h = (s.as_bytes()[0] - b'0') as u16 * 100;
                    Ok((h..h + 100).collect())
                }
                other => Err(format!(
                    "expected a status such as 200, a class such as \"2xx\", or a list of them, found {other}"
                )),
            }
        };
        out.status = match st.get_ref() {
            toml::Value::Array(a) => {
                let mut v = Vec::new();
                for x in a {
                    v.extend(one(x).or_else(|m| cx.err(st.span(), m))?);
                }
                v
            }
            v => one(v).or_else(|m| cx.err(st.span(), m))?,
        };
    }
    for (k, v) in &e.headers {
        let h = HeaderName::from_bytes(k.as_bytes())
            .or_else(|_| cx.err(v.span(), format!("{k:?} is not a valid header name")))?;
        out.headers.push((h, cx.text(v, scope)?));
    }
    if let Some(b) = &e.body_contains {
        out.body_contains.push(cx.text(b, scope)?);
    }
    for (pointer, v) in &e.json {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return cx.err(
                v.span(),
                format!(
                    "JSON pointer {pointer:?} must start with '/' (RFC 6901), e.g. \"/user/id\""
                ),
            );
        }
        let want = match v.get_ref() {
            toml::Value::String(s) => {
                let spanned = Spanned::new(v.span(), s.clone());
                JsonValue::Text(cx.text(&spanned, scope)?)
            }
            other => JsonValue::Other(
                serde_json::to_value(other).or_else(|e| cx.err(v.span(), e.to_string()))?,
            ),
        };
        out.json.push((pointer.clone(), want));
    }
    Ok(out)
}

fn extraction(
    cx: &Ctx,
    name: &str,
    slot: usize,
    x: &Spanned<raw::Extract>,
) -> Result<Extraction, Error> {
    let span = x.span();
    let x = x.get_ref();
    let from = match (&x.json, &x.header) {
        (Some(_), Some(_)) => return cx.err(span, "extract from json or from a header, not both"),
        (Some(p), None) => {
            if !(p.get_ref().is_empty() || p.get_ref().starts_with('/')) {
                return cx.err(
                    p.span(),
                    "a JSON pointer starts with '/' (RFC 6901), e.g. \"/token\"",
                );
            }
            ExtractFrom::Json(p.get_ref().clone())
        }
        (None, Some(h)) => ExtractFrom::Header(
            HeaderName::from_bytes(h.get_ref().as_bytes())
                .or_else(|_| cx.err(h.span(), "not a valid header name"))?,
        ),
        (None, None) if x.regex.is_some() => ExtractFrom::Body,
        (None, None) => return cx.err(
            span,
            "extract needs json = \"/pointer\", header = \"name\" or regex = \"…\" (on the body)",
        ),
    };
    let regex = match &x.regex {
        Some(r) => Some(
            regex::Regex::new(r.get_ref())
                .or_else(|e| cx.err(r.span(), format!("not a valid regular expression: {e}")))?,
        ),
        None => None,
    };
    Ok(Extraction {
        name: name.to_string(),
        slot,
        from,
        regex,
    })
}
