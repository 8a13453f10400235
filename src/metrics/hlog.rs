//! The HdrHistogram interval log (V2, compressed), as other HdrHistogram
//! tools read it: one untagged histogram per second with every request's
//! latency, plus one tagged `req=<name>` histogram per request name when a
//! scenario has several. Values are microseconds.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;

use super::Interval;

pub struct HlogWriter {
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    tags: Vec<String>,
}

impl HlogWriter {
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
        w.write_histogram(&iv.all.latency, start, len, None)
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        for (tag, s) in self.tags.iter().zip(&iv.per_request) {
            w.write_histogram(&s.latency, start, len, Tag::new(tag))
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
