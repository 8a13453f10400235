//! `scenario.json`: what was run, for a report to stand on its own.

/// `scenario.json`: what was run, for a report to stand on its own. Header
/// values that carry secrets are redacted; bodies are not written.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub target: String,
    pub load: String,
    pub host: String,
    pub requests: Vec<RequestInfo>,
    /// The minimum-rate threshold as written (`480`, `98%`), for `merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rate: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RequestInfo {
    pub name: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub weight: u32,
}

/// Header names whose values are never written (compared lower-case; a
/// name containing any of these parts is redacted too).
const SECRET_PARTS: &[&str] = &[
    "authorization",
    "cookie",
    "token",
    "secret",
    "password",
    "passwd",
    "api-key",
    "apikey",
    "session",
    "credential",
    "signature",
];

/// The value to show for a header: itself, or `[redacted]`.
pub fn redact(name: &str, value: &str) -> String {
    let n = name.to_ascii_lowercase();
    if SECRET_PARTS.iter().any(|p| n.contains(p)) {
        "[redacted]".into()
    } else {
        value.to_string()
    }
}

impl ScenarioInfo {
    pub fn new(plan: &crate::scenario::Plan, target: &str) -> ScenarioInfo {
        use crate::scenario::LoadModel;
        let secs = plan.load.model.duration().as_secs_f64();
        let load = match &plan.load.model {
            LoadModel::Open { profile, arrivals } => format!(
                "open model, {arrivals:?} arrivals, mean {:.1} requests/s for {secs:.1} s ({} stage{})",
                profile.mean_rate(),
                profile.stages.len(),
                if profile.stages.len() == 1 { "" } else { "s" }
            )
            .to_lowercase(),
            LoadModel::Closed {
                concurrency,
                think_time,
                ..
            } => format!(
                "closed model, {concurrency} users, think time {:.0} ms, for {secs:.1} s",
                think_time.as_secs_f64() * 1000.0
            ),
        };
        ScenarioInfo {
            name: plan.name.clone(),
            target: target.to_string(),
            load,
            host: hostname(),
            requests: plan
                .requests
                .iter()
                .map(|r| RequestInfo {
                    name: r.name.clone(),
                    method: r.method.to_string(),
                    // Template text, never rendered values: `{{ env.X }}`
                    // secrets stay out of every file.
                    path: r.path.source.clone(),
                    headers: r
                        .headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), redact(k.as_str(), &v.source)))
                        .collect(),
                    weight: r.weight,
                })
                .collect(),
            min_rate: plan.slo.min_rate.map(|m| match m {
                crate::scenario::MinRate::Rps(r) => format!("{r}"),
                crate::scenario::MinRate::ShareOfTarget(s) => format!("{}%", s * 100.0),
            }),
        }
    }
}

/// This machine's name, for reports that must stand on their own.
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
