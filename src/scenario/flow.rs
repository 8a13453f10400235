//! Flows: weighted, ordered steps with expectations and extraction, and
//! the data files that feed them. Plain data plus the checks a response
//! goes through; the engine (`crate::load`) sends the steps.

use std::path::PathBuf;

use http::{HeaderMap, HeaderName, StatusCode};

use super::template::{Text, Values};
use crate::hash::splitmix64;

/// A weighted sequence of requests: `steps` indexes `Plan::requests`. A
/// `[[request]]` is a flow of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSpec {
    pub name: String,
    pub weight: u32,
    pub steps: std::ops::Range<usize>,
    /// Extracted values this flow keeps (slots of `Var::Extracted`).
    pub slots: usize,
}

/// What a response must satisfy to count as OK. The default: a status
/// below 400.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    /// Accepted statuses; empty means any status below 400.
    pub status: Vec<u16>,
    /// Headers that must be present and contain this text.
    pub headers: Vec<(HeaderName, Text)>,
    pub body_contains: Vec<Text>,
    /// JSON pointer (RFC 6901) → the value it must equal.
    pub json: Vec<(String, JsonValue)>,
}

/// An expected JSON value; strings may be templates.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    Text(Text),
    Other(serde_json::Value),
}

/// A value taken from a response into slot `slot` of its flow.
#[derive(Debug, Clone)]
pub struct Extraction {
    pub name: String,
    pub slot: usize,
    pub from: ExtractFrom,
    /// Applied to what `from` gives: the first capture group, or the whole
    /// match without groups.
    pub regex: Option<regex::Regex>,
}

impl PartialEq for Extraction {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.slot == o.slot
            && self.from == o.from
            && self.regex.as_ref().map(|r| r.as_str()) == o.regex.as_ref().map(|r| r.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExtractFrom {
    /// A JSON pointer into the body; strings as they are, other values as JSON.
    Json(String),
    Header(HeaderName),
    /// The body as text (with a regex).
    Body,
}

/// A `[data.NAME]` file: rows of named columns.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    pub name: String,
    pub path: PathBuf,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub order: DataOrder,
}

/// Which row a flow run takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataOrder {
    /// Row `i mod rows` for flow run `i`: in order, starting over at the end.
    Sequential,
    /// A row drawn by a hash of the run's index and seed (repeatable).
    Random,
    /// Row `i` for flow run `i`; when the rows run out, no further flow
    /// starts (the open model schedules at most that many arrivals).
    Unique,
}

impl DataSource {
    /// The row for flow run `index`; `None` when a unique source has run out.
    pub fn row_for(&self, index: u64, seed: u64, salt: usize) -> Option<usize> {
        let n = self.rows.len() as u64;
        match self.order {
            DataOrder::Sequential => Some((index % n) as usize),
            // A stream of its own per source, apart from the flow choice
            // (which hashes seed ^ index): rows must not follow the flow.
            DataOrder::Random => {
                let key = splitmix64(0xda7a_0000_0000_0000 ^ salt as u64);
                Some((splitmix64(seed ^ index ^ key) % n) as usize)
            }
            DataOrder::Unique => (index < n).then_some(index as usize),
        }
    }
}

/// A response as the checks see it.
pub struct Response<'a> {
    pub status: StatusCode,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Why a response failed its step.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// An unexpected status (4xx/5xx by default).
    Status(u16),
    /// An expectation on headers or body did not hold.
    Assert,
    /// An extraction found nothing.
    Extract,
}

impl Expect {
    /// True when the body must be read and kept to check this.
    pub fn needs_body(&self) -> bool {
        !self.body_contains.is_empty() || !self.json.is_empty()
    }

    /// `json` is the parsed body, kept for the step's extractions.
    pub fn check(
        &self,
        r: &Response,
        values: &mut dyn Values,
        json: &mut Option<serde_json::Value>,
    ) -> Result<(), Failure> {
        let code = r.status.as_u16();
        let status_ok = if self.status.is_empty() {
            code < 400
        } else {
            self.status.contains(&code)
        };
        if !status_ok {
            return Err(if code >= 400 {
                Failure::Status(code)
            } else {
                Failure::Assert
            });
        }
        for (name, want) in &self.headers {
            let want = want.render(values, false);
            let found = r
                .headers
                .get_all(name)
                .iter()
                .any(|v| String::from_utf8_lossy(v.as_bytes()).contains(want.as_str()));
            if !found {
                return Err(Failure::Assert);
            }
        }
        for t in &self.body_contains {
            let want = t.render(values, false);
            if memchr::memmem::find(r.body, want.as_bytes()).is_none() {
                return Err(Failure::Assert);
            }
        }
        if !self.json.is_empty() {
            let doc = parsed(r, json).ok_or(Failure::Assert)?;
            for (pointer, want) in &self.json {
                let got = doc.pointer(pointer).ok_or(Failure::Assert)?;
                let ok = match want {
                    JsonValue::Other(v) => json_equal(got, v),
                    JsonValue::Text(t) => got.as_str() == Some(t.render(values, false).as_str()),
                };
                if !ok {
                    return Err(Failure::Assert);
                }
            }
        }
        Ok(())
    }
}

/// Numbers compare by value (1 equals 1.0), everything else structurally.
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The body as JSON, parsed once per response.
fn parsed<'a>(
    r: &Response,
    json: &'a mut Option<serde_json::Value>,
) -> Option<&'a serde_json::Value> {
    if json.is_none() {
        *json = serde_json::from_slice(r.body).ok();
    }
    json.as_ref()
}

impl Extraction {
    pub fn needs_body(&self) -> bool {
        !matches!(self.from, ExtractFrom::Header(_))
    }

    /// The value, or `None` when the response does not hold one.
    /// `json` is the parsed body, when one was parsed.
    pub fn apply(&self, r: &Response, json: &mut Option<serde_json::Value>) -> Option<String> {
        let owned;
        let raw: &str = match &self.from {
            ExtractFrom::Header(h) => r.headers.get(h)?.to_str().ok()?,
            ExtractFrom::Body => std::str::from_utf8(r.body).ok()?,
            ExtractFrom::Json(pointer) => match parsed(r, json)?.pointer(pointer)? {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => return None,
                v => {
                    owned = v.to_string();
                    &owned
                }
            },
        };
        let found = match &self.regex {
            None => raw,
            Some(re) => {
                let caps = re.captures(raw)?;
                caps.get(1).or_else(|| caps.get(0))?.as_str()
            }
        };
        Some(found.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoValues;
    impl Values for NoValues {
        fn data(&self, _: usize, _: usize) -> &str {
            ""
        }
        fn extracted(&self, _: usize) -> &str {
            "alice"
        }
        fn counter(&self) -> u64 {
            0
        }
        fn random_u128(&mut self) -> u128 {
            0
        }
        fn random_int(&mut self, lo: i64, _: i64) -> i64 {
            lo
        }
    }

    fn response<'a>(status: u16, headers: &'a HeaderMap, body: &'a str) -> Response<'a> {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.as_bytes(),
        }
    }

    #[test]
    fn expectations() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        let body = r#"{"user":{"name":"alice","age":30},"ok":true}"#;
        let ok = response(200, &h, body);
        let v = &mut NoValues;
        assert_eq!(Expect::default().check(&ok, v, &mut None), Ok(()));
        assert_eq!(
            Expect::default().check(&response(503, &h, ""), v, &mut None),
            Err(Failure::Status(503))
        );
        let e = Expect {
            status: vec![404],
            ..Expect::default()
        };
        assert_eq!(e.check(&response(404, &h, ""), v, &mut None), Ok(()));
        assert_eq!(e.check(&ok, v, &mut None), Err(Failure::Assert));
        let mut e = Expect {
            headers: vec![("content-type".parse().unwrap(), Text::literal("json"))],
            body_contains: vec![Text::literal("\"ok\":true")],
            json: vec![
                (
                    "/user/age".into(),
                    JsonValue::Other(serde_json::json!(30.0)),
                ),
                ("/ok".into(), JsonValue::Other(serde_json::json!(true))),
            ],
            ..Expect::default()
        };
        assert_eq!(e.check(&ok, v, &mut None), Ok(()));
        e.json.push((
            "/user/name".into(),
            JsonValue::Other(serde_json::json!("bob")),
        ));
        assert_eq!(e.check(&ok, v, &mut None), Err(Failure::Assert));
        assert_eq!(
            Expect {
                json: vec![("/missing".into(), JsonValue::Other(serde_json::json!(1)))],
                ..Expect::default()
            }
            .check(&ok, v, &mut None),
            Err(Failure::Assert)
        );
    }

    #[test]
    fn extraction() {
        let mut h = HeaderMap::new();
        h.insert("location", "/orders/4711?x=1".parse().unwrap());
        let r = response(201, &h, r#"{"token":"t-9","n":3,"list":[1,2]}"#);
        let x = |from, regex: Option<&str>| Extraction {
            name: "x".into(),
            slot: 0,
            from,
            regex: regex.map(|r| regex::Regex::new(r).unwrap()),
        };
        let mut json = None;
        assert_eq!(
            x(ExtractFrom::Json("/token".into()), None).apply(&r, &mut json),
            Some("t-9".into())
        );
        assert_eq!(
            x(ExtractFrom::Json("/n".into()), None).apply(&r, &mut json),
            Some("3".into())
        );
        assert_eq!(
            x(ExtractFrom::Json("/list".into()), None).apply(&r, &mut json),
            Some("[1,2]".into())
        );
        assert_eq!(
            x(ExtractFrom::Json("/nope".into()), None).apply(&r, &mut json),
            None
        );
        assert_eq!(
            x(
                ExtractFrom::Header("location".parse().unwrap()),
                Some(r"/orders/(\d+)")
            )
            .apply(&r, &mut json),
            Some("4711".into())
        );
        assert_eq!(
            x(ExtractFrom::Body, Some(r#""token":"[^"]+""#)).apply(&r, &mut json),
            Some(r#""token":"t-9""#.into())
        );
        assert_eq!(
            x(ExtractFrom::Body, Some("absent(\\d)")).apply(&r, &mut json),
            None
        );
    }

    #[test]
    fn data_orders() {
        let src = |order| DataSource {
            name: "u".into(),
            path: "u.csv".into(),
            columns: vec!["name".into()],
            rows: (0..3).map(|i| vec![format!("u{i}")]).collect(),
            order,
        };
        let seq: Vec<_> = (0..5)
            .map(|i| src(DataOrder::Sequential).row_for(i, 1, 0))
            .collect();
        assert_eq!(seq, [Some(0), Some(1), Some(2), Some(0), Some(1)]);
        let uniq: Vec<_> = (0..4)
            .map(|i| src(DataOrder::Unique).row_for(i, 1, 0))
            .collect();
        assert_eq!(uniq, [Some(0), Some(1), Some(2), None]);
        let mut seen = [0; 3];
        for i in 0..3000 {
            seen[src(DataOrder::Random).row_for(i, 1, 0).unwrap()] += 1;
        }
        // Binomial(3000, 1/3): sd ≈ 26; 5 sd either side.
        assert!(seen.iter().all(|&n| (870..=1130).contains(&n)), "{seen:?}");
        // Rows do not follow the flow choice (which hashes seed ^ index):
        // the runs that pick flow 4 of weights 4 + 1 see every row class.
        let mut src200 = src(DataOrder::Random);
        src200.rows = (0..200).map(|i| vec![format!("u{i}")]).collect();
        let mut classes = std::collections::BTreeSet::new();
        for i in (0..5000u64).filter(|i| splitmix64(1 ^ i) % 5 == 4) {
            classes.insert(src200.row_for(i, 1, 0).unwrap() % 5);
        }
        assert_eq!(classes.len(), 5, "{classes:?}");
    }
}
