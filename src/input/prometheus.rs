//! Demand history from a Prometheus server: the `query_range` HTTP API,
//! asked in windows of at most 10,000 steps (the server refuses more than
//! 11,000 points per series), one series required.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use hyper::body::Bytes;
use serde::Deserialize;

use crate::error::{BadInput, Unreachable};
use crate::input::url::BaseUrl;

/// Steps per request; Prometheus allows 11,000 points per series.
const WINDOW_STEPS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Base URL of the server, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    pub query: String,
    /// How far back from `end`.
    pub range: Duration,
    pub step: Duration,
    /// Default: now.
    pub end: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Reply {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    metric: std::collections::BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

/// The series' points, oldest first; no data at all is an error.
pub fn fetch(src: &Source) -> anyhow::Result<Vec<(DateTime<FixedOffset>, f64)>> {
    fetch_inner(src, false)
}

/// The series' points, oldest first; none when the query matched nothing
/// (an error counter that has not appeared yet).
pub fn fetch_or_none(src: &Source) -> anyhow::Result<Vec<(DateTime<FixedOffset>, f64)>> {
    fetch_inner(src, true)
}

fn fetch_inner(src: &Source, empty_ok: bool) -> anyhow::Result<Vec<(DateTime<FixedOffset>, f64)>> {
    let base = BaseUrl::parse(&src.url).map_err(|e| BadInput(format!("--prometheus: {e}")))?;
    if base.scheme != http::uri::Scheme::HTTP {
        return Err(BadInput("--prometheus: only http:// URLs are supported".into()).into());
    }
    let step = src.step.as_secs().max(1);
    // Evaluation times on multiples of the step, as Grafana does: samples
    // written on step boundaries are then read exactly, not through the
    // 5-minute lookback from an arbitrary offset.
    let s = step as i64;
    let end = src.end.unwrap_or_else(Utc::now).timestamp().div_euclid(s) * s;
    let start = (end - src.range.as_secs() as i64).div_euclid(s) * s;
    if start >= end {
        return Err(BadInput("--range must be longer than zero".into()).into());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut points: Vec<(i64, f64)> = Vec::new();
    let mut labels: Option<String> = None;
    let mut from = start;
    while from <= end {
        let to = (from + (WINDOW_STEPS as i64 - 1) * step as i64).min(end);
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", &src.query)
            .append_pair("start", &from.to_string())
            .append_pair("end", &to.to_string())
            .append_pair("step", &step.to_string())
            .finish();
        let path = format!("{}/api/v1/query_range?{query}", base.base_path);
        let (status, body) = rt.block_on(get(&base, &path))?;
        let reply: Reply = serde_json::from_slice(&body).map_err(|_| {
            anyhow::anyhow!(
                "{}: not a Prometheus API answer (HTTP {status}): {}",
                src.url,
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
        })?;
        if reply.status != "success" {
            return Err(BadInput(format!(
                "Prometheus refused the query {:?}: {} ({})",
                src.query,
                reply.error.unwrap_or_default(),
                reply.error_type.unwrap_or_default()
            ))
            .into());
        }
        let data = reply
            .data
            .ok_or_else(|| anyhow::anyhow!("{}: answer without data", src.url))?;
        if data.result_type != "matrix" {
            return Err(BadInput(format!(
                "the query returned a {}, expected a range vector (matrix)",
                data.result_type
            ))
            .into());
        }
        if data.result.len() > 1 {
            let sets: Vec<String> = data
                .result
                .iter()
                .take(5)
                .map(|s| label_set(&s.metric))
                .collect();
            return Err(BadInput(format!(
                "the query returned {} series, expected one: {}{}; aggregate them, e.g. sum({})",
                data.result.len(),
                sets.join(", "),
                if data.result.len() > 5 { ", …" } else { "" },
                src.query
            ))
            .into());
        }
        if let Some(s) = data.result.into_iter().next() {
            let set = label_set(&s.metric);
            match &labels {
                Some(l) if *l != set => {
                    return Err(BadInput(format!(
                        "the query's series changed between windows ({l} then {set}); aggregate it, e.g. sum({})",
                        src.query
                    ))
                    .into())
                }
                _ => labels = Some(set),
            }
            for (t, v) in s.values {
                if let Ok(v) = v.parse::<f64>() {
                    if v.is_finite() {
                        points.push((t.round() as i64, v));
                    }
                }
            }
        }
        from = to + step as i64;
    }
    if points.is_empty() && !empty_ok {
        return Err(BadInput(format!(
            "the query {:?} returned no data between {} and {}",
            src.query,
            Utc.timestamp_opt(start, 0)
                .single()
                .map_or(String::new(), |t| t.to_rfc3339()),
            Utc.timestamp_opt(end, 0)
                .single()
                .map_or(String::new(), |t| t.to_rfc3339()),
        ))
        .into());
    }
    points.dedup_by_key(|p| p.0);
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    Ok(points
        .into_iter()
        .filter_map(|(t, v)| utc.timestamp_opt(t, 0).single().map(|t| (t, v)))
        .collect())
}

fn label_set(m: &std::collections::BTreeMap<String, String>) -> String {
    let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

async fn get(base: &BaseUrl, path: &str) -> Result<(u16, Bytes), Unreachable> {
    let limits = super::http::Limits {
        connect: Duration::from_secs(10),
        answer: Duration::from_secs(60),
    };
    super::http::call(base, http::Method::GET, path, None, "Prometheus", limits).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::sync::{Arc, Mutex};

    /// Windows asked for: (start, end, step).
    type Asked = Arc<Mutex<Vec<(i64, i64, i64)>>>;

    /// A stand-in for Prometheus's query_range: answers one series whose
    /// value at t is t, at every step of the asked window, and keeps each
    /// window asked for as (start, end, step).
    fn fake() -> (String, Asked) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let keep = asked.clone();
        std::thread::spawn(move || {
            for mut conn in l.incoming().flatten() {
                let mut line = String::new();
                BufReader::new(&conn).read_line(&mut line).unwrap();
                let query = line.split(['?', ' ']).nth(2).unwrap_or("").to_string();
                let arg = |k: &str| -> i64 {
                    form_urlencoded::parse(query.as_bytes())
                        .find(|(n, _)| n == k)
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap()
                };
                let (start, end, step) = (arg("start"), arg("end"), arg("step"));
                keep.lock().unwrap().push((start, end, step));
                let values: Vec<String> = (start..=end)
                    .step_by(step as usize)
                    .map(|t| format!("[{t},\"{t}\"]"))
                    .collect();
                let body = format!(
                    r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
                    values.join(",")
                );
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, asked)
    }

    #[test]
    fn long_ranges_are_asked_in_adjoining_windows_of_at_most_10000_steps() {
        let (url, asked) = fake();
        let end = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let src = Source {
            url,
            query: "demand".into(),
            // 25,000 steps of 60 s: three windows.
            range: Duration::from_secs(25_000 * 60),
            step: Duration::from_secs(60),
            end: Some(end),
        };
        let points = fetch(&src).unwrap();
        let end = end.timestamp();
        let start = end - 25_000 * 60;
        // Every step once, in order, value = time: nothing lost or doubled.
        let want: Vec<(i64, f64)> = (start..=end).step_by(60).map(|t| (t, t as f64)).collect();
        let got: Vec<(i64, f64)> = points.iter().map(|(t, v)| (t.timestamp(), *v)).collect();
        assert_eq!(got.len(), 25_001);
        assert_eq!(got, want);
        let windows = asked.lock().unwrap().clone();
        assert_eq!(windows.len(), 3, "{windows:?}");
        assert_eq!(windows[0].0, start);
        assert_eq!(windows[2].1, end);
        for w in &windows {
            assert!(
                (w.1 - w.0) / 60 < 10_000,
                "{w:?} asks for more than 10,000 steps"
            );
        }
        for pair in windows.windows(2) {
            assert_eq!(pair[1].0, pair[0].1 + 60, "windows must adjoin: {pair:?}");
        }
    }
}
