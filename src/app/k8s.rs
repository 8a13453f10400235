//! `headroom k8s`: manifests that run a scenario as N segments in a
//! Kubernetes Indexed Job (each pod plays segment `JOB_COMPLETION_INDEX` of
//! N, all from one shared start time), write their results to a shared
//! volume, and a second Job that merges them.

use std::path::Path;

use anyhow::Context;

use crate::cli::K8sArgs;
use crate::error::BadInput;
use crate::exit;

const TEMPLATE: &str = include_str!("k8s.yaml");

/// `headroom k8s`.
pub fn manifests(args: &K8sArgs) -> anyhow::Result<exit::Code> {
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| BadInput(format!("{}: {e}", args.scenario.display())))?;
    // Refuse a scenario that would fail in every pod.
    let plan = crate::scenario::parse(&args.scenario, &text)?;
    if matches!(plan.target, crate::scenario::TargetSpec::Embedded(_)) {
        return Err(BadInput(
            "the scenario targets the embedded service: every pod would load its own; \
             give the service's URL in [target] url"
                .into(),
        )
        .into());
    }
    if args.workers == 0 || args.workers > 10_000 {
        return Err(BadInput("--workers must be between 1 and 10000".into()).into());
    }
    let start = chrono::Utc::now() + chrono::Duration::seconds(i64::from(args.start_delay));
    let yaml = render(args, &plan.name, &text, start)?;
    match &args.out {
        Some(path) => {
            write(path, &yaml)?;
            println!("wrote {}", path.display());
            println!(
                "segments start at {}; then: kubectl -n {} wait --for=condition=complete job/{}",
                start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                args.namespace,
                job_name(&plan.name)
            );
        }
        None => print!("{yaml}"),
    }
    Ok(exit::Code::Ok)
}

fn write(path: &Path, yaml: &str) -> anyhow::Result<()> {
    std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))
}

/// A DNS-1123 label from the scenario name, short enough that the run
/// label built from it (name + 17 characters of time) stays within 63.
fn job_name(scenario: &str) -> String {
    let mut s: String = scenario
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(30);
    format!("headroom-{}", s.trim_matches('-'))
}

/// The manifests for a scenario starting at `start`.
pub fn render(
    args: &K8sArgs,
    name: &str,
    scenario_text: &str,
    start: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let start_at = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let run_label = format!("{}-{}", job_name(name), start.format("%Y%m%dt%H%M%Sz"));
    let indented: String = scenario_text
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let mut env = minijinja::Environment::new();
    env.add_template("k8s.yaml", TEMPLATE)?;
    let out = env.get_template("k8s.yaml")?.render(minijinja::context! {
        name => name,
        job => job_name(name),
        namespace => args.namespace.clone(),
        image => args.image.clone(),
        workers => args.workers,
        run_id => format!("{name}-{start_at}"),
        start_at => start_at,
        run_label => run_label,
        scenario_indented => indented.trim_end_matches('\n'),
        // Two cores per pod: the engine's shards plus the collector; a
        // segment's rate should stay within what two cores drive (README).
        cpu => 2,
    })?;
    Ok(out + "\n")
}
