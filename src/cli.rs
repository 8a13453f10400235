//! Command-line definitions (clap derive). Doc comments are the help text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::input::history::Aggregate;
use crate::results::compare::Metric;
use crate::results::timeseries::Format;

/// Load testing and capacity planning: drive a service open- or closed-loop,
/// measure latency without coordinated omission, write results people and
/// programs read.
#[derive(Debug, Parser)]
#[command(
    name = "headroom",
    version,
    about,
    propagate_version = true,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The one exit-code table every command follows (see `exit::Code`).
pub const EXIT_CODES: &str = "\
Exit codes (every command):
  0   ok: every SLO held (or none set), breaking point found, graceful, no regression
  1   failed: an SLO failed or the target saturated, an [experiment]
      violated or aborted, the lowest rate failed, degraded or collapse,
      a regression
  2   bad input: a scenario, plan, results file or flag; an --out holding results
      (without --force); a run that could not fit in memory. Nothing was sent.
  3   inconclusive: generator limited, interrupted, out of search time, too few samples
  4   target unreachable or unusable (errors load does not explain)
  5   find: no breaking point up to --max-rate
  10  something failed inside headroom (writing results mid-run, a shard that
      panicked); what was measured is written first";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario (or a quick run from flags) and write its results.
    ///
    /// Exit codes: 0 all SLOs met, 1 an SLO failed (or the target was
    /// saturated: it held every connection and answered slowly, or an
    /// [experiment]'s hypothesis was violated or aborted), 2 bad
    /// input, 3 inconclusive (generator limited or interrupted), 4 target
    /// unreachable or unusable (errors load does not explain).
    Run(RunArgs),
    /// Find the highest rate that meets the SLO: an open-loop search
    /// (exponential steps, bisection, confirmation).
    ///
    /// Exit codes: 0 breaking point found, 1 even the lowest rate failed,
    /// 2 bad input, 3 inconclusive (generator limited, time budget,
    /// interrupted), 4 target unreachable or unusable (errors load does not
    /// explain, e.g. a 403 on every request), 5 no breaking point up to
    /// --max-rate.
    Find(FindArgs),
    /// Step through closed-loop concurrency levels, measure throughput X(N),
    /// and fit the Universal Scalability Law.
    ///
    /// Exit codes: 0 fitted, 2 bad input, 3 inconclusive (no fit,
    /// interrupted), 4 target unreachable or unusable.
    Sweep(SweepArgs),
    /// Past the breaking point: hold a baseline, overload the service (2 ×
    /// its sustainable rate by default), drop back, and measure goodput,
    /// how the excess was shed and how long recovery took.
    ///
    /// The sustainable rate R comes from --capacity, a --find file, or a
    /// breaking-point search run first (into DIR/find). Verdict: graceful
    /// (goodput ≥ 90 % of R while overloaded, the excess refused with
    /// 503/429, the SLO back within the bound), collapse (goodput < 50 % of
    /// R), or degraded. Exit codes: 0 graceful, 1 degraded or collapse,
    /// 2 bad input, 3 inconclusive (generator limited, baseline missed the
    /// SLO, interrupted, or no sustainable rate found), 4 target
    /// unreachable or unusable.
    Stress(StressArgs),
    /// Serve the embedded synthetic target (capacity = workers / mean service time).
    Target(TargetArgs),
    /// A fault-injecting TCP proxy with Toxiproxy's HTTP API: put it in
    /// front of a database, cache or downstream API and add latency,
    /// bandwidth limits, timeouts, resets… while a test runs.
    ///
    /// Any Toxiproxy client drives it (`POST /proxies`, `POST
    /// /proxies/NAME/toxics`, …). Runs until Ctrl-C or --for.
    Proxy(ProxyArgs),
    /// Against embedded targets with known answers: a run, a breaking-point
    /// search, an overload with recovery (a service that sheds load beside
    /// one that queues without bound) and a concurrency sweep, each beside
    /// its analytic answer, then a capacity plan; results in reports/demo/.
    Demo(DemoArgs),
    /// Compare a run against a baseline: p50, p90, p99, mean latency,
    /// achieved rate and error share, each with a verdict that accounts for
    /// run-to-run noise (block bootstrap over 1-second intervals).
    ///
    /// `compare BASELINE CURRENT`, or `compare --baseline NAME CURRENT`;
    /// `compare --save-baseline NAME RUN` stores RUN under NAME.
    /// Exit codes: 0 no regression, 1 a regression, 2 bad input,
    /// 3 inconclusive (too few samples, generator-limited or interrupted run).
    Compare(CompareArgs),
    /// A paired A/B run: both versions up at once, one schedule whose
    /// arrivals go to either at random, judged on the paired differences
    /// (every stall of the machine hits both alike).
    ///
    /// `ab BASE_URL CANDIDATE_URL --rate R --duration D`, or
    /// `ab SCENARIO --base URL --candidate URL`. The same URL twice is an
    /// A/A run: the gate's own noise. Writes DIR/base/ and
    /// DIR/candidate/ (each a run's results) and DIR/compare.json.
    /// Exit codes: 0 no regression, 1 a regression, 2 bad input,
    /// 3 inconclusive, 4 a target unreachable.
    Ab(AbArgs),
    /// Combine the segments of one run (`run --segment i/N`) exactly into
    /// one results directory, with the SLOs judged on the merged data.
    Merge(MergeArgs),
    /// Write Kubernetes manifests that run a scenario as N segments: a
    /// ConfigMap and an Indexed Job.
    K8s(K8sArgs),
    /// (Re)render report.html and its PNG charts from the result files in a
    /// directory (and its subdirectories).
    Report(ReportArgs),
    /// Fit the Universal Scalability Law to measured (concurrency,
    /// throughput) points: a CSV or Parquet table, or a sweep.json.
    Usl(UslArgs),
    /// Forecast demand from history (CSV or Parquet): a seasonal model with
    /// 80 % and 95 % prediction intervals.
    Forecast(ForecastArgs),
    /// Size the fleet month by month from forecast demand and measured
    /// capacity: instances, cost, runway, cheapest instance type.
    Plan(PlanArgs),
    /// Error budgets from one SLO file (TOML or OpenSLO YAML): `slo report`
    /// spends the budget over history (Prometheus or a CSV of good and
    /// total events); `slo rules` writes Prometheus recording and
    /// multi-window, multi-burn-rate alerting rules.
    ///
    /// Exit codes (report): 0 budget left, 1 budget spent, 2 bad input,
    /// 4 Prometheus unreachable.
    Slo(SloArgs),
    /// Print a shell completion script, e.g.
    /// `headroom completions bash > ~/.local/share/bash-completion/completions/headroom`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `headroom man > headroom.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, elvish, fish, powershell or zsh.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Results directories (or their summary.json): BASELINE CURRENT, or
    /// CURRENT alone with --baseline or --save-baseline.
    #[arg(num_args = 1..=2, required = true)]
    pub runs: Vec<PathBuf>,
    /// Compare against this saved baseline instead of a directory.
    #[arg(long)]
    pub baseline: Option<String>,
    /// Save the current run as this named baseline (after comparing, if a
    /// baseline is given).
    #[arg(long)]
    pub save_baseline: Option<String>,
    /// Where named baselines live.
    #[arg(long, default_value = ".headroom/baselines")]
    pub baseline_dir: PathBuf,
    /// What to print.
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    pub format: CompareFormat,
    #[command(flatten)]
    pub verdict: VerdictOpts,
}

/// How a comparison is judged and what it writes (compare, ab).
#[derive(Debug, Args)]
pub struct VerdictOpts {
    /// Minimum effect that counts: `10%` for every latency and rate metric,
    /// or per metric (`p99=15%`, `errors=0.5%` for percentage points);
    /// repeatable.
    #[arg(long = "threshold", value_parser = threshold_flag)]
    pub thresholds: Vec<(Option<Metric>, f64)>,
    /// Confidence level of the intervals.
    #[arg(long, value_parser = share, default_value = "95%")]
    pub confidence: f64,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 2000)]
    pub resamples: usize,
    /// Also write Markdown (for a pull-request comment) to this file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Also write JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AbArgs {
    /// BASE_URL CANDIDATE_URL, or a scenario file (TOML) with --base and
    /// --candidate.
    #[arg(num_args = 1..=2, required = true)]
    pub targets: Vec<String>,
    /// The version compared against (with a scenario).
    #[arg(long)]
    pub base: Option<String>,
    /// The version judged (with a scenario).
    #[arg(long)]
    pub candidate: Option<String>,
    #[command(flatten)]
    pub model: ModelOpts,
    /// Shard threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Open model: this many lanes, each with a connection to each
    /// version, all opened before the first arrival.
    #[arg(long)]
    pub connections: Option<usize>,
    /// Request timeout, e.g. 5s.
    #[arg(long, value_parser = duration)]
    pub timeout: Option<Duration>,
    /// HTTP version: auto, 1.1 or 2.
    #[arg(long, value_parser = http_version)]
    pub http: Option<crate::scenario::HttpVersion>,
    /// What to print of the comparison (--format sets the time series').
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    pub print: CompareFormat,
    #[command(flatten)]
    pub verdict: VerdictOpts,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Text,
    Markdown,
    Json,
}

/// "10%" → (None, 0.1); "p99=15%" → (Some(P99), 0.15).
fn threshold_flag(s: &str) -> Result<(Option<Metric>, f64), String> {
    match s.split_once('=') {
        None => Ok((None, crate::units::parse_share(s)?)),
        Some((m, v)) => {
            let metric = Metric::parse(m.trim()).ok_or_else(|| {
                let all: Vec<&str> = Metric::ALL.iter().map(|m| m.label()).collect();
                format!(
                    "unknown metric {:?}: expected one of {}",
                    m.trim(),
                    all.join(", ")
                )
            })?;
            Ok((Some(metric), crate::units::parse_share(v)?))
        }
    }
}

#[derive(Debug, Args)]
pub struct UslArgs {
    /// A table with a concurrency and a throughput column, or a sweep.json.
    pub file: PathBuf,
    /// Column with the load (concurrency, users, N); detected when omitted.
    #[arg(long)]
    pub concurrency_column: Option<String>,
    /// Column with the throughput (X, rps); detected when omitted.
    #[arg(long)]
    pub throughput_column: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// History: a timestamp column and a value column (CSV or Parquet).
    #[arg(required_unless_present = "prometheus")]
    pub file: Option<PathBuf>,
    /// Read the history from this Prometheus server (query_range API)
    /// instead of a file, e.g. http://127.0.0.1:9090.
    #[arg(long, conflicts_with = "file", requires = "query")]
    pub prometheus: Option<String>,
    /// PromQL giving one series, e.g. 'sum(rate(http_requests_total[5m]))'.
    #[arg(long)]
    pub query: Option<String>,
    /// How much history to read from Prometheus (up to now).
    #[arg(long, value_parser = duration, default_value = "30d")]
    pub range: Duration,
    /// How far ahead: a duration (90d, 12w), months (6mo, 1y) or a number of steps.
    #[arg(long, default_value = "90d")]
    pub horizon: String,
    /// Resample to this step (15m, 1h, 1d, 1mo); detected from the data when omitted.
    #[arg(long)]
    pub step: Option<String>,
    /// How values within one step combine: sum (counts), mean (rates) or max (peaks).
    #[arg(long, value_parser = Aggregate::parse, default_value = "mean")]
    pub aggregate: Aggregate,
    /// Column with the timestamps; detected when omitted.
    #[arg(long)]
    pub time_column: Option<String>,
    /// Column with the values; detected when omitted.
    #[arg(long)]
    pub value_column: Option<String>,
    /// Also score the forecast on the history's own past: refitted at
    /// rolling origins, its MASE, sMAPE and interval coverage by steps
    /// ahead (backtest.json with --out).
    #[arg(long)]
    pub backtest: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub files: FileArgs,
}

/// Files for a command that only prints without them (forecast, plan).
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Where to write the result files (forecast.json; backtest.json with
    /// --backtest; plan.json for plan) and report.html; without it,
    /// results are only printed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not write report.html and its PNG charts.
    #[arg(long)]
    pub no_report: bool,
    /// Replace the results already in --out.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SloArgs {
    #[command(subcommand)]
    pub action: SloAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum SloAction {
    /// The SLI per day, the budget allowed, spent and left in the current
    /// window, burn rates over 5m … 3d, when the budget runs out at the
    /// last day's burn, and the stretches that burned most.
    Report(SloReportArgs),
    /// Prometheus rules: the error ratio recorded over every window the
    /// alerts need, and the SRE workbook's page and ticket alerts (1h/5m at
    /// 14.4×, 6h/30m at 6×, 1d/2h at 3×, 3d/6h at 1× for 30 days; scaled
    /// with the window). Printed, or written to --out.
    Rules(SloRulesArgs),
}

#[derive(Debug, Args)]
pub struct SloReportArgs {
    /// The SLO file: TOML, or OpenSLO v1 YAML (.yaml).
    pub file: PathBuf,
    /// Good (or bad) and total events per step from a CSV or Parquet table:
    /// a time column, `good` or `bad`, and `total`.
    #[arg(
        long,
        required_unless_present = "prometheus",
        conflicts_with = "prometheus"
    )]
    pub csv: Option<PathBuf>,
    /// Read the events from this Prometheus server (query_range), e.g.
    /// http://127.0.0.1:9090.
    #[arg(long)]
    pub prometheus: Option<String>,
    /// The data's step: one row (or one Prometheus evaluation) per step;
    /// detected from a table's timestamps when omitted; 1h for Prometheus
    /// (a timeslice SLO's slice when it names one).
    #[arg(long, value_parser = duration)]
    pub step: Option<Duration>,
    /// How much history to read from Prometheus: default the SLO window
    /// and 3 days more (the longest burn lookback).
    #[arg(long, value_parser = duration)]
    pub range: Option<Duration>,
    /// The moment the report is for (RFC 3339): default the end of the
    /// data (a table) or now (Prometheus).
    #[arg(long)]
    pub now: Option<String>,
    /// A results directory of a run, fault experiment or stress test:
    /// what its bad requests would cost this budget if run against
    /// production (repeatable).
    #[arg(long = "experiment", value_name = "DIR")]
    pub experiments: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Debug, Args)]
pub struct SloRulesArgs {
    /// The SLO file: TOML, or OpenSLO v1 YAML (.yaml).
    pub file: PathBuf,
    /// Write the rules to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan file (TOML): catalog, demand, capacity per instance, sizing, fleet.
    pub file: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The segments' results directories.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged results.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the results already in --out (never one of the segments).
    #[arg(long)]
    pub force: bool,
    /// Largest difference between the segments' start times.
    #[arg(long, value_parser = duration, default_value = "250ms")]
    pub max_offset: Duration,
    /// No text summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not write report.html and its PNG charts.
    #[arg(long)]
    pub no_report: bool,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    /// The scenario to run (it is put into the ConfigMap).
    pub scenario: PathBuf,
    /// Segments: pods of the Indexed Job, each running segment i of N.
    #[arg(long)]
    pub workers: u32,
    /// Container image with the headroom binary.
    #[arg(long, default_value = "headroom:latest")]
    pub image: String,
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Seconds between applying the manifests and the common start.
    #[arg(long, default_value_t = 60)]
    pub start_delay: u32,
    /// Write the manifests here instead of printing them.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results directory (run, find, sweep or plan), or a directory of
    /// them such as reports/demo.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetOpts,
    #[command(flatten)]
    pub model: ModelOpts,
    /// Play segment i of N equal parts of the schedule (open model: every
    /// N-th arrival from i; closed model: an even share of the users), for
    /// `headroom merge`.
    #[arg(long, value_parser = segment)]
    pub segment: Option<crate::scenario::Segment>,
    /// Start at this wall-clock time (RFC 3339, e.g. 2026-11-26T12:00:00Z),
    /// so that every segment begins together.
    #[arg(long, value_parser = start_at)]
    pub start_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Names the run all segments belong to (default: the scenario name and
    /// the start time).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Stop as soon as a windowed SLO criterion is breached (a quantile above
    /// its threshold for `breach_seconds` in a row, or the error share over
    /// its window); the results so far are written and the exit code is 1.
    #[arg(long)]
    pub abort_on_fail: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The load model from flags (run, ab).
#[derive(Debug, Args)]
pub struct ModelOpts {
    /// Open model: arrivals per second (constant; ab: both versions
    /// together).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Closed model: virtual users, each waiting for its answer before the
    /// next request.
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Length of the run, e.g. 30s, 2m.
    #[arg(long, value_parser = duration)]
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Poisson arrivals instead of evenly spaced ones (open model).
    #[arg(long)]
    pub poisson: bool,
}

impl ModelOpts {
    /// The flags as overrides of a scenario (or a plan of flags alone).
    pub fn overrides(&self) -> crate::scenario::Overrides {
        crate::scenario::Overrides {
            rate: self.rate,
            concurrency: self.concurrency,
            duration: self.duration,
            requests: self.requests,
            poisson: self.poisson,
            ..crate::scenario::Overrides::default()
        }
    }
}

/// The scenario, the target and connection options (run, find, sweep).
#[derive(Debug, Args)]
pub struct TargetOpts {
    /// Scenario file (TOML). Without one, --url (and, for run, --rate or
    /// --concurrency) make up the run.
    pub scenario: Option<PathBuf>,
    /// Target URL, or "embedded" for the built-in target.
    #[arg(long)]
    pub url: Option<String>,
    /// An SLO, e.g. p99=250ms, p999=1s, errors=1% (repeatable; replaces the scenario's of that name).
    #[arg(long = "slo", value_parser = slo_flag)]
    pub slo: Vec<(String, String)>,
    /// Shard threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Open model: this many connections, all opened before the first
    /// arrival (default: opened as arrivals need them, at most 1024).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Request timeout, e.g. 5s.
    #[arg(long, value_parser = duration)]
    pub timeout: Option<Duration>,
    /// Open a new connection for every request (`Connection: close`)
    /// instead of reusing keep-alive connections.
    #[arg(long)]
    pub no_keep_alive: bool,
    /// HTTP version: auto (ALPN on https://, HTTP/1.1 on http://), 1.1,
    /// or 2 (h2 on https://, h2c with prior knowledge on http://).
    #[arg(long, value_parser = http_version)]
    pub http: Option<crate::scenario::HttpVersion>,
}

fn http_version(s: &str) -> Result<crate::scenario::HttpVersion, String> {
    crate::scenario::HttpVersion::parse(s)
}

#[derive(Debug, Args)]
pub struct FindArgs {
    #[command(flatten)]
    pub target: TargetOpts,
    /// First rate tried (requests/s).
    #[arg(long)]
    pub start_rate: Option<f64>,
    /// Give up above this rate.
    #[arg(long)]
    pub max_rate: Option<f64>,
    /// Rate factor between exponential steps.
    #[arg(long)]
    pub growth: Option<f64>,
    /// Stop bisecting when the bracket is this narrow, e.g. 3%.
    #[arg(long, value_parser = share)]
    pub precision: Option<f64>,
    /// Scored length of each step.
    #[arg(long, value_parser = duration)]
    pub step: Option<Duration>,
    /// Unscored warm-up before each step.
    #[arg(long, value_parser = duration)]
    pub warmup: Option<Duration>,
    /// Scored length of the confirmation step.
    #[arg(long, value_parser = duration)]
    pub confirm: Option<Duration>,
    /// Total load time the search may take.
    #[arg(long, value_parser = duration)]
    pub max_time: Option<Duration>,
    /// Poisson arrivals instead of evenly spaced ones.
    #[arg(long)]
    pub poisson: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct StressArgs {
    #[command(flatten)]
    pub target: TargetOpts,
    /// The sustainable rate R (requests/s), instead of searching for it.
    #[arg(long, conflicts_with = "find")]
    pub capacity: Option<f64>,
    /// Take R from this find.json (its sustainable_rps).
    #[arg(long)]
    pub find: Option<PathBuf>,
    /// The overload as a multiple of R, e.g. 2x or 1.5.
    #[arg(long, value_parser = factor)]
    pub overload: Option<f64>,
    /// How long the overload lasts (default 30s).
    #[arg(long, value_parser = duration)]
    pub hold: Option<Duration>,
    /// The rate before and after the overload, as a share of R (default 50%).
    #[arg(long, value_parser = share)]
    pub baseline: Option<f64>,
    /// How long the baseline runs before the overload (default 10s).
    #[arg(long, value_parser = duration)]
    pub settle: Option<Duration>,
    /// The most time to wait for recovery after the overload (default 2m).
    #[arg(long, value_parser = duration)]
    pub recovery: Option<Duration>,
    /// Consecutive seconds within the SLO that count as recovered (default 5).
    #[arg(long)]
    pub recovered: Option<u32>,
    /// Poisson arrivals instead of evenly spaced ones.
    #[arg(long)]
    pub poisson: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn factor(s: &str) -> Result<f64, String> {
    crate::scenario::parse_factor(s)
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub target: TargetOpts,
    /// Concurrency levels, e.g. 1,2,4,8,16 (default: powers of two up to --max-concurrency).
    #[arg(long, value_delimiter = ',')]
    pub levels: Vec<u32>,
    #[arg(long)]
    pub max_concurrency: Option<u32>,
    /// Scored length of each level.
    #[arg(long, value_parser = duration)]
    pub step: Option<Duration>,
    /// Unscored warm-up before each level.
    #[arg(long, value_parser = duration)]
    pub warmup: Option<Duration>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Results directory (default: results/<scenario>-<UTC time>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Format of the per-second time series: csv or parquet.
    #[arg(long, value_parser = Format::parse, default_value = "csv")]
    pub format: Format,
    /// No progress bar and no text summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not write report.html and its PNG charts.
    #[arg(long)]
    pub no_report: bool,
    /// Replace the results already in --out (without it, a directory
    /// holding results is refused).
    #[arg(long)]
    pub force: bool,
    /// Serve live metrics (Prometheus text format, /metrics) on this address
    /// during the run, e.g. 127.0.0.1:9464.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Keep serving metrics this long after the run, for a last scrape.
    #[arg(long, value_parser = duration, default_value = "5s")]
    pub metrics_linger: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dist {
    Fixed,
    Exponential,
    Lognormal,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Requests served at once (c).
    #[arg(long, default_value_t = 8)]
    pub workers: u32,
    /// Service-time distribution.
    #[arg(long, value_enum, default_value_t = Dist::Exponential)]
    pub service: Dist,
    /// Mean service time.
    #[arg(long, value_parser = duration, default_value = "10ms")]
    pub mean: Duration,
    /// Shape σ of the log-normal distribution.
    #[arg(long, default_value_t = 0.5)]
    pub sigma: f64,
    /// Requests that may wait for a worker; more get 503. `none`: the queue
    /// grows without bound (nothing is refused; latency climbs).
    #[arg(long, value_parser = queue_limit, default_value = "1000")]
    pub queue_limit: QueueLimit,
    /// Share of requests answered 500, e.g. 1% or 0.01.
    #[arg(long, value_parser = share, default_value = "0")]
    pub error_share: f64,
    /// Stall: hold all responses for --stall-pause at the end of every period.
    #[arg(long, value_parser = duration, requires = "stall_pause")]
    pub stall_every: Option<Duration>,
    #[arg(long, value_parser = duration, requires = "stall_every")]
    pub stall_pause: Option<Duration>,
    /// Contention σ: service time × (1 + σ(n−1) + κn(n−1)) with n requests in service (USL).
    #[arg(long, default_value_t = 0.0)]
    pub contention_sigma: f64,
    /// Coherency κ of the same factor.
    #[arg(long, default_value_t = 0.0)]
    pub contention_kappa: f64,
    /// HTTP/2 (h2c): streams one connection may have open at once.
    #[arg(long)]
    pub max_concurrent_streams: Option<u32>,
    /// Call this URL (GET, HTTP/1.1) for every request before answering,
    /// holding the worker: a database or downstream API, e.g. another
    /// target behind `headroom proxy`. Its timeout answers 504, any other
    /// failure 502.
    #[arg(long, value_name = "URL")]
    pub dependency: Option<String>,
    /// How long a dependency call may take.
    #[arg(long, value_parser = duration, default_value = "1s", requires = "dependency")]
    pub dependency_timeout: Duration,
    /// Dependency calls tried again after a failure or timeout.
    #[arg(long, default_value_t = 0, requires = "dependency")]
    pub retries: u32,
    /// Stop serving after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = duration)]
    pub run_for: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Where the control API listens (Toxiproxy's port is 8474).
    #[arg(long, default_value = "127.0.0.1:8474")]
    pub api: SocketAddr,
    /// A proxy to start with: name=NAME,listen=HOST:PORT,upstream=HOST:PORT
    /// (repeatable; listen defaults to 127.0.0.1 and a free port).
    #[arg(long = "proxy", value_parser = proxy_flag)]
    pub proxies: Vec<crate::proxy::ProxySpec>,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = duration)]
    pub run_for: Option<Duration>,
}

/// "name=db,listen=127.0.0.1:6380,upstream=127.0.0.1:6379".
fn proxy_flag(s: &str) -> Result<crate::proxy::ProxySpec, String> {
    let mut spec = crate::proxy::ProxySpec::default();
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE, found {part:?}"))?;
        let slot = match k.trim() {
            "name" => &mut spec.name,
            "listen" => &mut spec.listen,
            "upstream" => &mut spec.upstream,
            other => {
                return Err(format!(
                    "unknown key {other:?} (expected name, listen and upstream)"
                ))
            }
        };
        *slot = Some(v.trim().to_string());
    }
    if spec.name.is_none() || spec.upstream.is_none() {
        return Err("a proxy needs name= and upstream=".into());
    }
    Ok(spec)
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the results.
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
    /// Length of the first part (the open-loop run; default 10 s).
    #[arg(long, value_parser = duration)]
    pub duration: Option<Duration>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

fn duration(s: &str) -> Result<Duration, String> {
    crate::units::parse_duration(s)
}

/// "p99=250ms" → ("p99", "250ms").
fn slo_flag(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| {
        format!("expected NAME=VALUE such as p99=250ms or errors=1%, found {s:?}")
    })?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

fn segment(s: &str) -> Result<crate::scenario::Segment, String> {
    crate::scenario::Segment::parse(s)
}

fn start_at(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-11-26T12:00:00Z: {e}"))
}

/// `--queue-limit`: a count, or `None` for a queue without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimit(pub Option<u64>);

fn queue_limit(s: &str) -> Result<QueueLimit, String> {
    match s.trim() {
        "none" => Ok(QueueLimit(None)),
        n => n
            .parse()
            .map(|n| QueueLimit(Some(n)))
            .map_err(|_| format!("expected a count or \"none\", found {s:?}")),
    }
}

fn share(s: &str) -> Result<f64, String> {
    crate::units::parse_share(s)
}
