//! Faults under load: the proxies a run starts, the faults it schedules on
//! its own clock, and the experiment it judges (`[[proxy]]`, `[[fault]]`,
//! `[experiment]`, `[target.embedded.dependency]`).

use std::time::Duration;

use toml::Spanned;

use super::check::{self, Ctx};
use super::raw;
use super::{Error, Slo};
use crate::embedded::TargetConfig;
use crate::proxy::toxic::{Toxic, ToxicSpec};

/// The name of the in-process proxy in front of an embedded dependency.
pub const DEPENDENCY_PROXY: &str = "dependency";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chaos {
    /// Proxies started in-process for the run.
    pub proxies: Vec<ProxyDecl>,
    /// An embedded service the embedded target calls, served in-process
    /// behind the proxy [`DEPENDENCY_PROXY`].
    pub dependency: Option<EmbeddedDependency>,
    pub faults: Vec<Fault>,
    pub experiment: Option<Experiment>,
}

impl Chaos {
    /// Whether the run needs proxies of its own.
    pub fn in_process(&self) -> bool {
        !self.proxies.is_empty() || self.dependency.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProxyDecl {
    pub name: String,
    pub listen: String,
    pub upstream: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedDependency {
    pub service: TargetConfig,
    pub timeout: Duration,
    pub retries: u32,
}

/// A toxic on a proxy from `at` for `duration` (to the run's end when
/// `None`), on the run's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub name: String,
    pub proxy: String,
    /// A remote proxy's API (`headroom proxy` or Toxiproxy), e.g.
    /// `http://127.0.0.1:8474`; `None`: a proxy of this run.
    pub api: Option<String>,
    pub toxic: Toxic,
    pub at: Duration,
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Recovered: the SLI within the SLO for this many 1-s windows in a row.
    pub recovery_windows: u32,
    /// Past this share of bad requests since the first fault began, every
    /// fault is removed at once (the blast radius).
    pub abort_if_bad: Option<f64>,
}

pub const DEFAULT_RECOVERY_WINDOWS: u32 = 5;

pub(super) fn chaos(
    cx: &Ctx,
    raw: &raw::Scenario,
    target: &mut super::TargetSpec,
    slo: &Slo,
    run_for: Duration,
) -> Result<Chaos, Error> {
    let mut out = Chaos::default();
    let embedded = raw
        .target
        .get_ref()
        .embedded
        .as_ref()
        .and_then(|e| e.get_ref().dependency.as_ref());
    if let (Some(d), super::TargetSpec::Embedded(cfg)) = (embedded, &mut *target) {
        dependency(cx, d, cfg, &mut out)?;
    }
    for p in &raw.proxies {
        let p = p.get_ref();
        let name = p.name.get_ref().trim().to_string();
        if name.is_empty() {
            return cx.err(p.name.span(), "a proxy needs a name");
        }
        if out.proxies.iter().any(|o| o.name == name) {
            let why = if name == DEPENDENCY_PROXY && out.dependency.is_some() {
                "the embedded dependency's proxy is named \"dependency\""
            } else {
                "another [[proxy]] has this name"
            };
            return cx.err(p.name.span(), why);
        }
        let upstream = p.upstream.get_ref().clone();
        host_port(&upstream).or_else(|m| cx.err(p.upstream.span(), m))?;
        let listen = match &p.listen {
            Some(l) => {
                host_port(l.get_ref()).or_else(|m| cx.err(l.span(), m))?;
                l.get_ref().clone()
            }
            None => "127.0.0.1:0".into(),
        };
        out.proxies.push(ProxyDecl {
            name,
            listen,
            upstream,
        });
    }
    for f in &raw.faults {
        let fault = fault(cx, f, &out, run_for)?;
        out.faults.push(fault);
    }
    if let Some(e) = &raw.experiment {
        out.experiment = Some(experiment(cx, e, &out, slo)?);
    }
    Ok(out)
}

fn dependency(
    cx: &Ctx,
    d: &Spanned<raw::Dependency>,
    cfg: &mut TargetConfig,
    out: &mut Chaos,
) -> Result<(), Error> {
    let r = d.get_ref();
    let timeout = match &r.timeout {
        Some(t) => cx.positive_duration(t, "timeout")?,
        None => Duration::from_secs(1),
    };
    let retries = r.retries.as_ref().map_or(0, |n| *n.get_ref());
    if let Some(url) = &r.url {
        if let Some(extra) = r
            .workers
            .as_ref()
            .map(|w| w.span())
            .or(r.service_time.as_ref().map(|s| s.span()))
        {
            return cx.err(
                extra,
                "workers and service_time describe an embedded dependency: give them or url, not both",
            );
        }
        let dep = crate::embedded::rules::dependency(url.get_ref(), timeout, retries)
            .or_else(|m| cx.err(url.span(), m))?;
        cfg.dependency = Some(dep);
        return Ok(());
    }
    // Checked now; the URL (the proxy's address) is known once it runs.
    crate::embedded::rules::dependency("http://127.0.0.1:1/", timeout, retries)
        .or_else(|m| cx.err(d.span(), m))?;
    let mut service = TargetConfig {
        workers: 1000,
        queue_limit: None,
        seed: cfg.seed ^ 0x6465_7065_6e64,
        ..TargetConfig::default()
    };
    if let Some(w) = &r.workers {
        service.workers = crate::embedded::rules::at_least_one(*w.get_ref(), "workers")
            .or_else(|m| cx.err(w.span(), m))?;
    }
    if let Some(st) = &r.service_time {
        service.service_time = check::service_time(cx, st.get_ref())?;
    }
    out.dependency = Some(EmbeddedDependency {
        service,
        timeout,
        retries,
    });
    out.proxies.push(ProxyDecl {
        name: DEPENDENCY_PROXY.into(),
        listen: "127.0.0.1:0".into(),
        upstream: String::new(),
    });
    Ok(())
}

fn host_port(s: &str) -> Result<(), String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!(
            "expected HOST:PORT like 127.0.0.1:6379, found {s:?}"
        )),
    }
}

fn fault(
    cx: &Ctx,
    f: &Spanned<raw::Fault>,
    chaos: &Chaos,
    run_for: Duration,
) -> Result<Fault, Error> {
    let r = f.get_ref();
    let name = r.name.get_ref().trim().to_string();
    if name.is_empty() {
        return cx.err(r.name.span(), "a fault needs a name");
    }
    if chaos.faults.iter().any(|o| o.name == name) {
        return cx.err(r.name.span(), "another [[fault]] has this name");
    }
    let proxy = r.proxy.get_ref().clone();
    let api = match &r.api {
        Some(a) => {
            let url = a.get_ref().trim_end_matches('/');
            let ok = url
                .strip_prefix("http://")
                .is_some_and(|rest| host_port(rest).is_ok());
            if !ok {
                return cx.err(
                    a.span(),
                    format!("api must be http://HOST:PORT (a headroom proxy or Toxiproxy), found {url:?}"),
                );
            }
            Some(url.to_string())
        }
        None => {
            if !chaos.proxies.iter().any(|p| p.name == proxy) {
                let known: Vec<&str> = chaos.proxies.iter().map(|p| p.name.as_str()).collect();
                let have = if known.is_empty() {
                    "this scenario declares none; add a [[proxy]], or api = \"http://HOST:PORT\" for a proxy elsewhere".to_string()
                } else {
                    format!("this scenario has {}", known.join(", "))
                };
                return cx.err(r.proxy.span(), format!("no proxy {proxy:?}: {have}"));
            }
            None
        }
    };
    let toxic = toxic(cx, &r.toxic, &name)?;
    let at = cx.duration(&r.at)?;
    if at >= run_for {
        return cx.err(
            r.at.span(),
            format!(
                "the fault would start after the run ends ({} s of load)",
                run_for.as_secs_f64()
            ),
        );
    }
    let duration = match &r.duration {
        Some(d) => Some(cx.positive_duration(d, "for")?),
        None => None,
    };
    Ok(Fault {
        name,
        proxy,
        api,
        toxic,
        at,
        duration,
    })
}

/// `toxic = { type = "latency", latency = "200ms", … }`: Toxiproxy's
/// attributes, durations written with units.
fn toxic(
    cx: &Ctx,
    t: &Spanned<std::collections::BTreeMap<String, Spanned<toml::Value>>>,
    fault: &str,
) -> Result<Toxic, Error> {
    let mut spec = ToxicSpec {
        // A name a URL path carries as is.
        name: Some(format!(
            "headroom_{}",
            fault
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        )),
        ..ToxicSpec::default()
    };
    let kind = t.get_ref().get("type").map(|v| v.get_ref().as_str());
    let mut attributes = serde_json::Map::new();
    for (key, v) in t.get_ref() {
        let value = v.get_ref();
        match key.as_str() {
            "type" => match value.as_str() {
                Some(s) => spec.kind = Some(s.to_string()),
                None => return cx.err(v.span(), "type must be a string, e.g. \"latency\""),
            },
            "stream" => spec.stream = value.as_str().map(str::to_string),
            "toxicity" => spec.toxicity = Some(check::share(cx, v)?),
            attr => {
                // Toxiproxy's units: milliseconds, but microseconds for a
                // slicer's delay.
                let micros = kind == Some(Some("slicer")) && attr == "delay";
                let n = match value {
                    toml::Value::Integer(i) if *i >= 0 => *i as u64,
                    toml::Value::String(s) => {
                        let d = crate::units::parse_duration(s).or_else(|m| cx.err(v.span(), m))?;
                        let (n, unit) = if micros {
                            (d.as_micros(), 1_000)
                        } else {
                            (d.as_millis(), 1_000_000)
                        };
                        if d.as_nanos() % unit != 0 {
                            return cx.err(
                                v.span(),
                                format!(
                                    "{attr} must be whole {}",
                                    if micros {
                                        "microseconds"
                                    } else {
                                        "milliseconds"
                                    }
                                ),
                            );
                        }
                        n as u64
                    }
                    _ => {
                        return cx.err(
                            v.span(),
                            format!("{attr}: expected a duration like \"200ms\" or a whole number"),
                        )
                    }
                };
                attributes.insert(attr.to_string(), n.into());
            }
        }
    }
    spec.attributes = Some(attributes);
    Toxic::new(spec).or_else(|m| cx.err(t.span(), m))
}

fn experiment(
    cx: &Ctx,
    e: &Spanned<raw::Experiment>,
    chaos: &Chaos,
    slo: &Slo,
) -> Result<Experiment, Error> {
    let r = e.get_ref();
    if chaos.faults.is_empty() {
        return cx.err(e.span(), "an [experiment] needs at least one [[fault]]");
    }
    if let Some(h) = &r.hypothesis {
        if h.get_ref() != "slo" {
            return cx.err(
                h.span(),
                format!("hypothesis must be \"slo\" (the steady-state SLO holds during and after the faults), found {:?}", h.get_ref()),
            );
        }
    }
    if slo.latency.is_empty() && slo.error_share.is_none() {
        return cx.err(
            e.span(),
            "hypothesis = \"slo\" needs a latency or error SLO in [slo]",
        );
    }
    let recovery_windows = match &r.recovery_windows {
        Some(n) if *n.get_ref() == 0 => {
            return cx.err(n.span(), "recovery_windows must be at least 1")
        }
        Some(n) => *n.get_ref(),
        None => DEFAULT_RECOVERY_WINDOWS,
    };
    let abort_if_bad = match &r.abort_if {
        Some(a) => {
            let v = &a.get_ref().bad_requests;
            let share = check::share(cx, v)?;
            if share <= 0.0 {
                return cx.err(v.span(), "bad_requests must be more than 0%");
            }
            Some(share)
        }
        None => None,
    };
    Ok(Experiment {
        recovery_windows,
        abort_if_bad,
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::has;
    use std::path::Path;

    const BASE: &str = r#"
[target]
url = "embedded"
[target.embedded.dependency]
service_time = { dist = "fixed", mean = "1ms" }
[load]
rate = 10
duration = "10s"
[slo]
p99 = "100ms"
"#;

    fn parse(extra: &str) -> Result<super::Chaos, String> {
        crate::scenario::parse(Path::new("s.toml"), &format!("{BASE}{extra}"))
            .map(|p| p.chaos)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_fault_reads_in_toxiproxys_units() {
        let c = parse(
            r#"
[[fault]]
name = "db slow"
proxy = "dependency"
toxic = { type = "latency", latency = "200ms", jitter = 20, toxicity = "50%" }
at = "3s"
for = "2s"
[experiment]
abort_if = { bad_requests = "5%" }
"#,
        )
        .unwrap();
        assert_eq!(c.proxies[0].name, "dependency");
        let f = &c.faults[0];
        assert_eq!(f.toxic.name, "headroom_db_slow");
        assert_eq!(f.toxic.toxicity, 0.5);
        assert_eq!(
            f.toxic.to_json()["attributes"],
            serde_json::json!({"latency": 200, "jitter": 20})
        );
        assert_eq!(f.duration, Some(std::time::Duration::from_secs(2)));
        let e = c.experiment.unwrap();
        assert_eq!((e.recovery_windows, e.abort_if_bad), (5, Some(0.05)));
    }

    #[test]
    fn bad_faults_are_located_and_explained() {
        let fault = |proxy: &str, toxic: &str, at: &str| {
            format!(
                "[[fault]]\nname = \"f\"\nproxy = \"{proxy}\"\ntoxic = {toxic}\nat = \"{at}\"\n"
            )
        };
        let latency = "{ type = \"latency\", latency = \"5ms\" }";
        let cases = [
            (
                fault("db", latency, "1s"),
                "no proxy \"db\": this scenario has dependency",
            ),
            (fault("dependency", latency, "10s"), "after the run ends"),
            (
                fault(
                    "dependency",
                    "{ type = \"latency\", latency = \"1.5ms\" }",
                    "1s",
                ),
                "whole milliseconds",
            ),
            (
                fault("dependency", "{ type = \"lag\" }", "1s"),
                "unknown toxic type",
            ),
            (
                format!(
                    "{}[experiment]\nhypothesis = \"uptime\"\n",
                    fault("dependency", latency, "1s")
                ),
                "hypothesis must be \"slo\"",
            ),
            ("[experiment]\n".to_string(), "needs at least one [[fault]]"),
            (
                "[[proxy]]\nname = \"dependency\"\nupstream = \"127.0.0.1:1\"\n".to_string(),
                "the embedded dependency's proxy",
            ),
        ];
        for (extra, words) in cases {
            let e = parse(&extra).unwrap_err();
            has(&e, words);
            has(&e, "s.toml:");
        }
    }
}
