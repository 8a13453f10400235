//! `headroom compare`: a run against a baseline, with the CI gate's exit code.

use crate::exit;
use crate::results::write_json;
use anyhow::Context;
use std::path::PathBuf;

/// `headroom compare`.
pub fn compare(args: &crate::cli::CompareArgs) -> anyhow::Result<exit::Code> {
    use crate::compare::{self, load};
    let named = |name: &str| -> anyhow::Result<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(crate::error::BadInput(format!(
                "baseline name {name:?}: use letters, digits, '-' and '_'"
            ))
            .into());
        }
        Ok(args.baseline_dir.join(name))
    };
    let (base_path, cur_path) = match (args.runs.as_slice(), &args.baseline) {
        ([b, c], None) => (Some(b.clone()), c.clone()),
        ([c], Some(name)) => {
            let dir = named(name)?;
            if !dir.join(crate::results::files::SUMMARY).exists() {
                return Err(crate::error::BadInput(format!(
                    "no baseline named {name:?} in {} (save one with --save-baseline {name} RUN)",
                    args.baseline_dir.display()
                ))
                .into());
            }
            (Some(dir), c.clone())
        }
        ([c], None) if args.save_baseline.is_some() => (None, c.clone()),
        ([_], None) => {
            return Err(crate::error::BadInput(
                "compare needs BASELINE CURRENT, or CURRENT with --baseline NAME".into(),
            )
            .into())
        }
        (_, Some(_)) => {
            return Err(crate::error::BadInput(
                "with --baseline NAME, give only the CURRENT run".into(),
            )
            .into())
        }
        _ => unreachable!("clap takes one or two runs"),
    };
    let current = load::load(&cur_path)?;
    let mut code = exit::Code::Ok;
    if let Some(base_path) = base_path {
        let baseline = load::load(&base_path)?;
        let opts = verdict_options(&args.verdict)?;
        let c = compare::compare(&baseline, &current, &opts);
        emit_comparison(&c, args.format, &args.verdict)?;
        code = exit::of_comparison(&c);
    }
    if let Some(name) = &args.save_baseline {
        let dir = named(name)?;
        load::save(&cur_path, &dir)
            .with_context(|| format!("saving baseline {}", dir.display()))?;
        eprintln!(
            "saved {} as baseline {name:?} ({})",
            cur_path.display(),
            dir.display()
        );
    }
    Ok(code)
}

/// The comparison's settings from the flags (compare, ab).
pub(super) fn verdict_options(
    v: &crate::cli::VerdictOpts,
) -> anyhow::Result<crate::compare::Options> {
    let mut opts = crate::compare::Options {
        confidence: v.confidence,
        resamples: v.resamples.max(100),
        ..crate::compare::Options::default()
    };
    if !(0.5..1.0).contains(&opts.confidence) {
        return Err(crate::error::BadInput(format!(
            "--confidence {}: expected between 50 % and 99.9 %",
            opts.confidence
        ))
        .into());
    }
    for (metric, value) in &v.thresholds {
        match metric {
            None => opts.min_effect = *value,
            Some(m) => {
                opts.per_metric.insert(*m, *value);
            }
        }
    }
    Ok(opts)
}

/// Prints a comparison in the format asked for and writes the files asked
/// for (compare, ab).
pub(super) fn emit_comparison(
    c: &crate::results::compare::Comparison,
    format: crate::cli::CompareFormat,
    v: &crate::cli::VerdictOpts,
) -> anyhow::Result<()> {
    use crate::cli::CompareFormat;
    use crate::compare::render;
    match format {
        CompareFormat::Text => print!("{}", render::text(c)),
        CompareFormat::Markdown => print!("{}", render::markdown(c)),
        CompareFormat::Json => println!("{}", crate::results::to_json(c)?),
    }
    if let Some(p) = &v.markdown {
        std::fs::write(p, render::markdown(c))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &v.json {
        write_json(p, c)?;
    }
    if let Some(p) = &v.junit {
        let xml = render::junit(c).context("formatting JUnit XML")?;
        std::fs::write(p, xml).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
