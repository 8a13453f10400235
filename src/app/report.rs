//! `headroom report`: report.html from a results directory.

use crate::exit;
use crate::report;

/// `headroom report`.
pub fn report(args: &crate::cli::ReportArgs) -> anyhow::Result<exit::Code> {
    let path = report::page::render(&args.dir)?;
    println!("{}", path.display());
    Ok(exit::Code::Ok)
}
