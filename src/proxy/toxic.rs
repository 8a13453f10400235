//! Toxics: what the proxy does to the bytes of one direction of a
//! connection. Names, attributes and units are Toxiproxy's, so its clients
//! and its documentation apply unchanged.
//!
//! | type | attributes | effect on each chunk of data |
//! |---|---|---|
//! | `latency` | `latency`, `jitter` (ms) | delivered `latency ± jitter` after it arrived |
//! | `bandwidth` | `rate` (KB/s) | delivered no faster than the rate |
//! | `slow_close` | `delay` (ms) | the close is passed on after the delay |
//! | `timeout` | `timeout` (ms) | dropped; the connection closed after `timeout` (0: never) |
//! | `reset_peer` | `timeout` (ms) | the connection reset (RST) after `timeout` |
//! | `limit_data` | `bytes` | the connection closed once that many bytes passed |
//! | `slicer` | `average_size`, `size_variation` (bytes), `delay` (µs) | cut in slices, each after the delay |
//!
//! `toxicity` is the share of connections a toxic applies to, decided once
//! per connection (as Toxiproxy does); `stream` is the direction:
//! `upstream` carries the client's bytes to the server, `downstream` the
//! server's answers back.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The direction a toxic acts on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Client → server.
    Upstream,
    /// Server → client (Toxiproxy's default).
    #[default]
    Downstream,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }
}

/// What a toxic does, with its attributes in their own units.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Latency {
        latency: Duration,
        jitter: Duration,
    },
    /// Bytes per second (Toxiproxy's `rate` is in KB/s, 1 KB = 1000 bytes).
    Bandwidth {
        bytes_per_sec: u64,
    },
    SlowClose {
        delay: Duration,
    },
    /// Drop the data; close after `timeout` (zero: never close).
    Timeout {
        timeout: Duration,
    },
    ResetPeer {
        timeout: Duration,
    },
    LimitData {
        bytes: u64,
    },
    Slicer {
        average: u64,
        variation: u64,
        delay: Duration,
    },
}

/// One toxic as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    pub name: String,
    pub stream: Stream,
    /// Share of connections it applies to, 0 to 1.
    pub toxicity: f64,
    pub effect: Effect,
}

/// A toxic is written as Toxiproxy's API shows it, and read back the
/// way a client's JSON is (a run's `summary.json` keeps its faults').
impl schemars::JsonSchema for Toxic {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Toxic".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "A toxic as Toxiproxy's API shows it; its attributes in Toxiproxy's units (ms; KB/s for bandwidth; µs for a slicer's delay).",
            "required": ["name", "type", "stream", "toxicity", "attributes"],
            "properties": {
                "name": { "type": "string" },
                "type": { "enum": ["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "limit_data", "slicer"] },
                "stream": { "enum": ["upstream", "downstream"] },
                "toxicity": { "type": "number", "minimum": 0, "maximum": 1 },
                "attributes": { "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 } }
            }
        })
    }
}

impl Serialize for Toxic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Toxic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Toxic::new(ToxicSpec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The wire form (Toxiproxy's JSON), partial as clients send it.
/// Fields it does not know are ignored, as Toxiproxy ignores them.
#[derive(Debug, Default, Deserialize)]
pub struct ToxicSpec {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub stream: Option<String>,
    pub toxicity: Option<f64>,
    pub attributes: Option<Map<String, Value>>,
}

pub const TYPES: &str = "latency, bandwidth, slow_close, timeout, reset_peer, limit_data or slicer";

impl Toxic {
    /// A new toxic from its JSON: the type is required, the rest defaults
    /// as in Toxiproxy (stream `downstream`, toxicity 1, name
    /// `TYPE_STREAM`, attributes 0).
    pub fn new(spec: ToxicSpec) -> Result<Toxic, String> {
        let kind = spec.kind.ok_or("a toxic needs a \"type\"")?;
        let stream = match spec.stream.as_deref() {
            None | Some("") => Stream::Downstream,
            Some(s) => parse_stream(s)?,
        };
        let toxicity = spec.toxicity.unwrap_or(1.0);
        check_toxicity(toxicity)?;
        let attributes = spec.attributes.unwrap_or_default();
        let effect = Effect::parse(&kind, &attributes, None)?;
        let name = spec
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("{kind}_{}", stream.as_str()));
        Ok(Toxic {
            name,
            stream,
            toxicity,
            effect,
        })
    }

    /// This toxic with the fields of `spec` changed (an update keeps the
    /// type and the name; attributes not given keep their values).
    pub fn updated(&self, spec: ToxicSpec) -> Result<Toxic, String> {
        if let Some(k) = &spec.kind {
            if k != self.effect.kind() {
                return Err(format!(
                    "a toxic's type cannot change ({} → {k}); remove it and add another",
                    self.effect.kind()
                ));
            }
        }
        let stream = match spec.stream.as_deref() {
            None | Some("") => self.stream,
            Some(s) => parse_stream(s)?,
        };
        let toxicity = spec.toxicity.unwrap_or(self.toxicity);
        check_toxicity(toxicity)?;
        let effect = match spec.attributes {
            Some(a) => Effect::parse(self.effect.kind(), &a, Some(&self.effect))?,
            None => self.effect.clone(),
        };
        Ok(Toxic {
            name: self.name.clone(),
            stream,
            toxicity,
            effect,
        })
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "type": self.effect.kind(),
            "stream": self.stream.as_str(),
            "toxicity": self.toxicity,
            "attributes": self.effect.attributes(),
        })
    }
}

fn parse_stream(s: &str) -> Result<Stream, String> {
    match s {
        "upstream" => Ok(Stream::Upstream),
        "downstream" => Ok(Stream::Downstream),
        other => Err(format!(
            "stream must be \"upstream\" or \"downstream\", found {other:?}"
        )),
    }
}

fn check_toxicity(t: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(format!("toxicity must be between 0 and 1, found {t}"))
    }
}

impl Effect {
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::Latency { .. } => "latency",
            Effect::Bandwidth { .. } => "bandwidth",
            Effect::SlowClose { .. } => "slow_close",
            Effect::Timeout { .. } => "timeout",
            Effect::ResetPeer { .. } => "reset_peer",
            Effect::LimitData { .. } => "limit_data",
            Effect::Slicer { .. } => "slicer",
        }
    }

    /// Toxiproxy's attributes: integers in its units, every one shown.
    pub fn attributes(&self) -> Value {
        let ms = |d: &Duration| d.as_millis() as u64;
        match self {
            Effect::Latency { latency, jitter } => {
                serde_json::json!({ "latency": ms(latency), "jitter": ms(jitter) })
            }
            Effect::Bandwidth { bytes_per_sec } => {
                serde_json::json!({ "rate": bytes_per_sec / 1000 })
            }
            Effect::SlowClose { delay } => serde_json::json!({ "delay": ms(delay) }),
            Effect::Timeout { timeout } | Effect::ResetPeer { timeout } => {
                serde_json::json!({ "timeout": ms(timeout) })
            }
            Effect::LimitData { bytes } => serde_json::json!({ "bytes": bytes }),
            Effect::Slicer {
                average,
                variation,
                delay,
            } => serde_json::json!({
                "average_size": average,
                "size_variation": variation,
                "delay": delay.as_micros() as u64,
            }),
        }
    }

    /// Parses `attributes` for a toxic of type `kind`; attributes not given
    /// come from `base` (an update) or are zero.
    pub fn parse(
        kind: &str,
        a: &Map<String, Value>,
        base: Option<&Effect>,
    ) -> Result<Effect, String> {
        let known: &[&str] = match kind {
            "latency" => &["latency", "jitter"],
            "bandwidth" => &["rate"],
            "slow_close" => &["delay"],
            "timeout" | "reset_peer" => &["timeout"],
            "limit_data" => &["bytes"],
            "slicer" => &["average_size", "size_variation", "delay"],
            other => return Err(format!("unknown toxic type {other:?} (expected {TYPES})")),
        };
        if let Some(k) = a.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!(
                "{kind} has no attribute {k:?} (it has {})",
                known.join(", ")
            ));
        }
        let old = base.map(Effect::attributes);
        let int = |key: &str| -> Result<u64, String> {
            match a.get(key).or_else(|| old.as_ref().and_then(|o| o.get(key))) {
                None => Ok(0),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| format!("{kind}'s {key} must be a whole number ≥ 0, found {v}")),
            }
        };
        // A day at most: a time past any test's end, and one a clock can
        // add to now (18446744073709551615 ms could not).
        let within_a_day = |key: &str, v: u64, unit: &str, day: u64| {
            if v > day {
                Err(format!(
                    "{kind}'s {key} must be at most {day} {unit} (a day), found {v}"
                ))
            } else {
                Ok(v)
            }
        };
        let ms = |key: &str| {
            int(key)
                .and_then(|v| within_a_day(key, v, "ms", 86_400_000))
                .map(Duration::from_millis)
        };
        Ok(match kind {
            "latency" => Effect::Latency {
                latency: ms("latency")?,
                jitter: ms("jitter")?,
            },
            "bandwidth" => Effect::Bandwidth {
                bytes_per_sec: int("rate")?.saturating_mul(1000),
            },
            "slow_close" => Effect::SlowClose {
                delay: ms("delay")?,
            },
            "timeout" => Effect::Timeout {
                timeout: ms("timeout")?,
            },
            "reset_peer" => Effect::ResetPeer {
                timeout: ms("timeout")?,
            },
            "limit_data" => Effect::LimitData {
                bytes: int("bytes")?,
            },
            _ => Effect::Slicer {
                average: int("average_size")?,
                variation: int("size_variation")?,
                delay: Duration::from_micros(within_a_day(
                    "delay",
                    int("delay")?,
                    "µs",
                    86_400_000_000,
                )?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::has;

    fn spec(v: Value) -> ToxicSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_and_round_trip_follow_toxiproxy() {
        let t = Toxic::new(spec(serde_json::json!({
            "type": "latency", "attributes": {"latency": 200, "jitter": 20}
        })))
        .unwrap();
        assert_eq!(t.name, "latency_downstream");
        assert_eq!(t.stream, Stream::Downstream);
        assert_eq!(t.toxicity, 1.0);
        assert_eq!(
            t.effect,
            Effect::Latency {
                latency: Duration::from_millis(200),
                jitter: Duration::from_millis(20)
            }
        );
        assert_eq!(
            t.to_json(),
            serde_json::json!({"name": "latency_downstream", "type": "latency",
                "stream": "downstream", "toxicity": 1.0,
                "attributes": {"latency": 200, "jitter": 20}})
        );
        let slicer = Toxic::new(spec(
            serde_json::json!({"type": "slicer", "stream": "upstream",
            "attributes": {"average_size": 64, "delay": 10}}),
        ))
        .unwrap();
        assert_eq!(
            slicer.to_json()["attributes"],
            serde_json::json!({"average_size": 64, "size_variation": 0, "delay": 10})
        );
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let t = Toxic::new(spec(serde_json::json!({
            "type": "latency", "name": "slow", "toxicity": 0.5,
            "attributes": {"latency": 200, "jitter": 20}
        })))
        .unwrap();
        let u = t
            .updated(spec(serde_json::json!({"attributes": {"latency": 50}})))
            .unwrap();
        assert_eq!(u.name, "slow");
        assert_eq!(u.toxicity, 0.5);
        assert_eq!(
            u.to_json()["attributes"],
            serde_json::json!({"latency": 50, "jitter": 20})
        );
        let e = t
            .updated(spec(serde_json::json!({"type": "timeout"})))
            .unwrap_err();
        has(&e, "cannot change");
    }

    #[test]
    fn bad_toxics_say_what_is_wrong() {
        let cases = [
            (serde_json::json!({}), "needs a \"type\""),
            (
                serde_json::json!({"type": "nope"}),
                "unknown toxic type \"nope\"",
            ),
            (
                serde_json::json!({"type": "latency", "attributes": {"latncy": 1}}),
                "no attribute \"latncy\"",
            ),
            (
                serde_json::json!({"type": "latency", "attributes": {"latency": -1}}),
                "whole number",
            ),
            (
                serde_json::json!({"type": "timeout", "toxicity": 1.5}),
                "between 0 and 1",
            ),
            (
                serde_json::json!({"type": "latency", "attributes": {"latency": u64::MAX}}),
                "at most 86400000 ms (a day)",
            ),
            (
                serde_json::json!({"type": "timeout", "stream": "sideways"}),
                "\"upstream\" or \"downstream\"",
            ),
        ];
        for (json, words) in cases {
            let e = Toxic::new(spec(json.clone())).unwrap_err();
            has(&e, words);
        }
    }
}
