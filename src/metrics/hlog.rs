//! The HdrHistogram interval log (V2, compressed), as other HdrHistogram
//! tools read it: one untagged histogram per second with every request's
//! latency, plus one tagged `req=<name>` histogram per request name when a
//! scenario has several. Values are microseconds. [`read`] reads such a log
//! back, interval by interval.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use std::collections::BTreeMap;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::Interval;

pub struct HlogWriter {
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    tags: Vec<String>,
    detail: bool,
}

impl HlogWriter {
    /// `detail.hlog`: service time (tag `service`) and send lag (tag `lag`)
    /// per second, and per request name (`service.req=NAME`,
    /// `lag.req=NAME`) when there are several — what `headroom merge`
    /// needs beside the latency log to rebuild a summary exactly.
    pub fn create_detail(
        path: &Path,
        start: SystemTime,
        names: &[String],
    ) -> io::Result<HlogWriter> {
        let mut w = HlogWriter::create(path, start, names)?;
        w.detail = true;
        Ok(w)
    }

    /// Creates the file and writes the header.
    pub fn create(path: &Path, start: SystemTime, names: &[String]) -> io::Result<HlogWriter> {
        let mut out = BufWriter::new(File::create(path)?);
        let mut serializer = V2DeflateSerializer::new();
        IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "headroom {} latency log",
                env!("CARGO_PKG_VERSION")
            ))
            .add_comment("values in microseconds, from intended send time to response end")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut serializer)?;
        out.write_all(b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n")?;
        let tags = if names.len() > 1 {
            names.iter().map(|n| format!("req={n}")).collect()
        } else {
            Vec::new()
        };
        Ok(HlogWriter {
            out,
            serializer,
            tags,
            detail: false,
        })
    }

    /// Appends one interval (and its per-name histograms).
    pub fn write(&mut self, iv: &Interval) -> io::Result<()> {
        let start = Duration::from_secs(iv.index);
        let len = Duration::from_secs(1);
        // An empty builder writes no header lines: this only borrows the
        // file and serializer for the histograms below.
        let mut w =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?;
        let e = |e| io::Error::other(format!("{e:?}"));
        if self.detail {
            w.write_histogram(&iv.all.service, start, len, Tag::new("service"))
                .map_err(e)?;
            w.write_histogram(&iv.all.lag, start, len, Tag::new("lag"))
                .map_err(e)?;
            for (tag, s) in self.tags.iter().zip(&iv.per_request) {
                let (svc, lag) = (format!("service.{tag}"), format!("lag.{tag}"));
                w.write_histogram(&s.service, start, len, Tag::new(&svc))
                    .map_err(e)?;
                w.write_histogram(&s.lag, start, len, Tag::new(&lag))
                    .map_err(e)?;
            }
            return Ok(());
        }
        w.write_histogram(&iv.all.latency, start, len, None)
            .map_err(e)?;
        for (tag, s) in self.tags.iter().zip(&iv.per_request) {
            w.write_histogram(&s.latency, start, len, Tag::new(tag))
                .map_err(e)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The key under which [`read`] keeps the untagged histograms (all
/// requests).
pub const ALL: &str = "all";

/// Interval histograms by tag: untagged ones under [`ALL`], `req=NAME`
/// under NAME.
pub fn read(bytes: &[u8]) -> Result<BTreeMap<String, Vec<Histogram<u64>>>, String> {
    let mut out: BTreeMap<String, Vec<Histogram<u64>>> = BTreeMap::new();
    let mut deser = Deserializer::new();
    for (i, entry) in IntervalLogIterator::new(bytes).enumerate() {
        let entry = entry.map_err(|e| format!("entry {}: not an interval log: {e:?}", i + 1))?;
        let LogEntry::Interval(h) = entry else {
            continue;
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.encoded_histogram())
            .map_err(|e| format!("interval {}: bad base64: {e}", i + 1))?;
        let hist: Histogram<u64> = deser
            .deserialize(&mut &raw[..])
            .map_err(|e| format!("interval {}: bad histogram: {e:?}", i + 1))?;
        let key = match h.tag() {
            None => ALL.to_string(),
            Some(t) => t
                .as_str()
                .strip_prefix("req=")
                .unwrap_or(t.as_str())
                .to_string(),
        };
        out.entry(key).or_default().push(hist);
    }
    if out.is_empty() {
        return Err("no interval histograms".into());
    }
    Ok(out)
}
