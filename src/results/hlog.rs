//! The HdrHistogram interval logs (V2, compressed), as other HdrHistogram
//! tools read them. `latency.hlog`: one untagged histogram per second with
//! every request's latency, and one tagged `req=NAME` per request name when
//! a scenario has several. `detail.hlog`: service time and send lag, tagged
//! `service` and `lag` (all requests) and `service.req=NAME`, `lag.req=NAME`.
//! Values are microseconds.
//!
//! The tag format lives here alone: [`Key`] and [`Kind`] say what a tag
//! means, [`tag`] writes it and [`read`] parses it back. A request name is
//! escaped in a tag (`%XX` for anything but letters, digits and `-._~/`),
//! so no name can pass for all requests, break the line format (a space or
//! a comma), or collide with another.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::metrics::Interval;

/// Whose latencies a series holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// Every request together (untagged in `latency.hlog`).
    All,
    /// One request name.
    Request(String),
}

/// What a series measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// From the intended send time to the end of the response.
    Latency,
    /// From the actual send.
    Service,
    /// Actual send minus intended send.
    Lag,
}

/// Characters a request name keeps in a tag; everything else is `%XX`.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The tag for a series: `None` (untagged) for all requests' latency.
pub fn tag(kind: Kind, key: &Key) -> Option<String> {
    let prefix = match kind {
        Kind::Latency => "",
        Kind::Service => "service",
        Kind::Lag => "lag",
    };
    match key {
        Key::All if prefix.is_empty() => None,
        Key::All => Some(prefix.to_string()),
        Key::Request(name) => {
            let name = utf8_percent_encode(name, ESCAPED);
            Some(if prefix.is_empty() {
                format!("req={name}")
            } else {
                format!("{prefix}.req={name}")
            })
        }
    }
}

/// The tag of the all-requests latency of a second a fault was in effect
/// in: `fault=NAME`. headroom's readers skip it (it names no series of
/// theirs); a tool filtering by tag gets the latency under each fault.
pub fn fault_tag(name: &str) -> String {
    format!("fault={}", utf8_percent_encode(name, ESCAPED))
}

/// What a tag means; `None` for a tag headroom does not write.
pub fn parse_tag(tag: Option<&str>) -> Option<(Kind, Key)> {
    let Some(tag) = tag else {
        return Some((Kind::Latency, Key::All));
    };
    let (kind, rest) = match tag.split_once('.') {
        Some(("service", rest)) => (Kind::Service, Some(rest)),
        Some(("lag", rest)) => (Kind::Lag, Some(rest)),
        _ => match tag {
            "service" => (Kind::Service, None),
            "lag" => (Kind::Lag, None),
            _ => (Kind::Latency, Some(tag)),
        },
    };
    match rest {
        None => Some((kind, Key::All)),
        Some(r) => {
            let name = r.strip_prefix("req=")?;
            let name = percent_decode_str(name).decode_utf8().ok()?;
            Some((kind, Key::Request(name.into_owned())))
        }
    }
}

/// One second's histogram as read back from a log: only the buckets it
/// recorded, each as its highest equivalent value and its count. A
/// decoded HdrHistogram holds every bucket up to its largest value (tens
/// of kB); an hour of 200 request names read back whole took gigabytes
/// (issue 16's soak), where its recorded buckets take a few hundred bytes
/// a second. Added to a histogram of the same precision (any from
/// [`crate::metrics::new_histogram`]), each value lands in its own bucket:
/// nothing is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded(Vec<(u64, u64)>);

impl Recorded {
    pub fn of(h: &Histogram<u64>) -> Recorded {
        Recorded(
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    /// How many values it recorded.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|&(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The mean of its values in milliseconds (each bucket at its highest
    /// equivalent value); `None` when empty.
    pub fn mean_ms(&self) -> Option<f64> {
        let n = self.len();
        (n > 0).then(|| {
            self.0
                .iter()
                .map(|&(v, c)| v as f64 * c as f64)
                .sum::<f64>()
                / n as f64
                / 1000.0
        })
    }

    /// The value at quantile `q` in milliseconds, by HdrHistogram's rule
    /// (the first bucket whose cumulative count reaches ⌈q·n⌉); `None`
    /// when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        quantile_ms(&self.0, q)
    }

    /// Its largest value in milliseconds; `None` when empty.
    pub fn max_ms(&self) -> Option<f64> {
        self.0.last().map(|&(v, _)| v as f64 / 1000.0)
    }

    /// (value, count) of each recorded bucket, lowest first.
    pub fn buckets(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// Adds its values to `h`.
    pub fn add_to(&self, h: &mut Histogram<u64>) -> Result<(), hdrhistogram::RecordError> {
        self.0.iter().try_for_each(|&(v, n)| h.record_n(v, n))
    }
}

/// The value at quantile `q` of (value µs, count) buckets sorted by value,
/// in milliseconds: the first whose cumulative count reaches ⌈q·n⌉.
pub fn quantile_ms(buckets: &[(u64, u64)], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().map(|&(_, n)| n).sum();
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    buckets
        .iter()
        .find(|&&(_, n)| {
            seen += n;
            seen >= rank
        })
        .map(|&(v, _)| v as f64 / 1000.0)
}

/// One kind of series of a log, second by second: all requests, and each
/// request name the log tags.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub all: Vec<Recorded>,
    pub by_request: BTreeMap<String, Vec<Recorded>>,
}

impl Series {
    pub fn get(&self, key: &Key) -> Option<&Vec<Recorded>> {
        match key {
            Key::All => (!self.all.is_empty()).then_some(&self.all),
            Key::Request(n) => self.by_request.get(n),
        }
    }

    /// Request `name`'s series in a log of `names` request names: tagged
    /// when there are several, the untagged one when it is alone.
    pub fn request(&self, name: &str, names: usize) -> Option<&Vec<Recorded>> {
        if names == 1 {
            self.get(&Key::All)
        } else {
            self.by_request.get(name)
        }
    }

    fn push(&mut self, key: Key, h: Recorded) {
        match key {
            Key::All => self.all.push(h),
            Key::Request(n) => self.by_request.entry(n).or_default().push(h),
        }
    }
}

/// An interval log read back: its latency series (`latency.hlog`) or its
/// service-time and send-lag series (`detail.hlog`).
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub latency: Series,
    pub service: Series,
    pub lag: Series,
}

/// Reads an interval log written by [`HlogWriter`].
pub fn read(bytes: &[u8]) -> Result<Log, String> {
    read_only(bytes, |_, _| true)
}

/// Reads the series of an interval log that `want` keeps; the others are
/// not decoded (the report needs one series of a log that may hold
/// hundreds).
pub fn read_only(bytes: &[u8], want: impl Fn(Kind, &Key) -> bool) -> Result<Log, String> {
    let mut log = Log::default();
    let mut deser = Deserializer::new();
    let mut any = false;
    // A log cut mid-line (its run killed while writing) ends at its last
    // whole line.
    let bytes = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => bytes,
    };
    for (i, entry) in IntervalLogIterator::new(bytes).enumerate() {
        let entry = entry.map_err(|e| format!("entry {}: not an interval log: {e:?}", i + 1))?;
        let LogEntry::Interval(h) = entry else {
            continue;
        };
        let Some((kind, key)) = parse_tag(h.tag().map(|t| t.as_str())) else {
            continue;
        };
        any = true;
        if !want(kind, &key) {
            continue;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.encoded_histogram())
            .map_err(|e| format!("interval {}: bad base64: {e}", i + 1))?;
        let hist: Histogram<u64> = deser
            .deserialize(&mut &raw[..])
            .map_err(|e| format!("interval {}: bad histogram: {e:?}", i + 1))?;
        let hist = Recorded::of(&hist);
        match kind {
            Kind::Latency => log.latency.push(key, hist),
            Kind::Service => log.service.push(key, hist),
            Kind::Lag => log.lag.push(key, hist),
        }
    }
    if !any {
        return Err("no interval histograms".into());
    }
    Ok(log)
}

/// Reads an interval log file, errors naming the file.
pub fn read_file(path: &Path) -> Result<Log, crate::error::BadInput> {
    read_file_only(path, |_, _| true)
}

/// [`read_only`] from a file, errors naming the file.
pub fn read_file_only(
    path: &Path,
    want: impl Fn(Kind, &Key) -> bool,
) -> Result<Log, crate::error::BadInput> {
    let bytes = std::fs::read(path)
        .map_err(|e| crate::error::BadInput(format!("{}: {e}", path.display())))?;
    read_only(&bytes, want).map_err(|e| crate::error::BadInput(format!("{}: {e}", path.display())))
}

/// Writes `latency.hlog` or `detail.hlog` interval by interval.
pub struct HlogWriter {
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    /// Each request name's key, when the log tags them (several names).
    keys: Vec<Key>,
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
        // Room for a second of many request names: flushed once a second
        // in one write.
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
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
        let keys = if names.len() > 1 {
            names.iter().map(|n| Key::Request(n.clone())).collect()
        } else {
            Vec::new()
        };
        Ok(HlogWriter {
            out,
            serializer,
            keys,
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
        let kinds: &[Kind] = if self.detail {
            &[Kind::Service, Kind::Lag]
        } else {
            &[Kind::Latency]
        };
        let keyed =
            std::iter::once((&Key::All, &iv.all)).chain(self.keys.iter().zip(&iv.per_request));
        for (key, s) in keyed {
            for &kind in kinds {
                let h = match kind {
                    Kind::Latency => &s.latency,
                    Kind::Service => &s.service,
                    Kind::Lag => &s.lag,
                };
                let tag = tag(kind, key);
                // Escaped names never hold what a tag may not.
                let tag = tag.as_deref().and_then(Tag::new);
                w.write_histogram(h, start, len, tag)
                    .map_err(|e| io::Error::other(format!("{e:?}")))?;
            }
        }
        Ok(())
    }

    /// The second's all-requests latency again, tagged [`fault_tag`]`(name)`.
    pub fn write_fault(&mut self, iv: &Interval, name: &str) -> io::Result<()> {
        let mut w =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?;
        let tag = fault_tag(name);
        w.write_histogram(
            &iv.all.latency,
            Duration::from_secs(iv.index),
            Duration::from_secs(1),
            Tag::new(&tag),
        )
        .map_err(|e| io::Error::other(format!("{e:?}")))
    }

    /// A comment line (`#…`): readers skip it, people read it — where a
    /// fault began and ended, between the seconds.
    pub fn comment(&mut self, text: &str) -> io::Result<()> {
        let mut w =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?;
        w.write_comment(text)
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Hands what is buffered to the file (once a second: a run killed
    /// mid-way keeps every second but the last).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LoadState, Stats};

    fn stats(samples: u64) -> Stats {
        let mut s = Stats::default();
        for v in 1..=samples {
            s.latency.record(1000 * v).unwrap();
            s.service.record(900 * v).unwrap();
            s.lag.record(v).unwrap();
        }
        s
    }

    #[test]
    fn no_request_name_passes_for_all_requests_or_another_name() {
        // A request named `all`, one with a space (a tag may not hold one:
        // it used to be written untagged, as if it were all requests) and
        // one with a comma.
        let names: Vec<String> = ["all", "a b", "x,y"].map(String::from).to_vec();
        let dir = tempfile::tempdir().unwrap();
        for (file, detail) in [
            (crate::results::files::LATENCY_LOG, false),
            (crate::results::files::DETAIL_LOG, true),
        ] {
            let path = dir.path().join(file);
            let mut w = if detail {
                HlogWriter::create_detail(&path, SystemTime::UNIX_EPOCH, &names).unwrap()
            } else {
                HlogWriter::create(&path, SystemTime::UNIX_EPOCH, &names).unwrap()
            };
            let per_request = vec![stats(3), stats(5), stats(7)];
            let mut all = Stats::default();
            per_request.iter().for_each(|s| all.merge(s));
            for index in 0..2 {
                w.write(&Interval {
                    index,
                    scheduled: 0,
                    scheduled_arms: Vec::new(),
                    load: LoadState::default(),
                    per_request: per_request.clone(),
                    all: all.clone(),
                })
                .unwrap();
            }
            w.finish().unwrap();
            let log = read_file(&path).unwrap();
            let series = if detail { &log.lag } else { &log.latency };
            assert_eq!(series.all.len(), 2, "{file}: two seconds of all requests");
            assert_eq!(series.all[0].len(), 15);
            for (name, n) in [("all", 3), ("a b", 5), ("x,y", 7)] {
                let s = &series.by_request[name];
                assert_eq!((s.len(), s[0].len()), (2, n), "{file}: {name}");
            }
            assert_eq!(series.by_request.len(), 3);
            // Only what is asked for is read: the all-requests series.
            let all = read_file_only(&path, |_, key| *key == Key::All).unwrap();
            let series = if detail { &all.lag } else { &all.latency };
            assert_eq!(series.all.len(), 2, "{file}");
            assert!(series.by_request.is_empty(), "{file}");
        }
    }

    #[test]
    fn a_second_read_back_keeps_every_value_in_its_recorded_buckets_only() {
        // Latencies from 1 µs to 10 s, a few hundred distinct buckets.
        let mut h = crate::metrics::new_histogram();
        let mut v = 1u64;
        while v < 10_000_000 {
            h.record_n(v, v % 7 + 1).unwrap();
            v = v * 11 / 10 + 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::results::files::LATENCY_LOG);
        let mut w = HlogWriter::create(&path, SystemTime::UNIX_EPOCH, &["a".into()]).unwrap();
        let all = Stats {
            latency: h.clone(),
            ..Stats::default()
        };
        // A fault's comment before the second: readers skip it.
        w.comment("[fault \"db\" began at 0.001 s: latency on proxy db]")
            .unwrap();
        w.write(&Interval {
            index: 0,
            scheduled: 0,
            scheduled_arms: Vec::new(),
            load: LoadState::default(),
            per_request: vec![all.clone()],
            all,
        })
        .unwrap();
        w.finish().unwrap();
        let second = &read_file(&path).unwrap().latency.all[0];
        assert_eq!(second.len(), h.len());
        assert_eq!(second.buckets().len(), h.iter_recorded().count());
        // Added back, the same histogram: every quantile and the mean.
        let mut back = crate::metrics::new_histogram();
        second.add_to(&mut back).unwrap();
        assert_eq!(back, h);
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(back.value_at_quantile(q), h.value_at_quantile(q), "q {q}");
        }
        assert_eq!(back.mean(), h.mean());
    }

    #[test]
    fn tags_read_back_as_written() {
        for kind in [Kind::Latency, Kind::Service, Kind::Lag] {
            for key in [
                Key::All,
                Key::Request("login/step".into()),
                Key::Request("50% off, today".into()),
            ] {
                let t = tag(kind, &key);
                assert!(t.as_deref().is_none_or(|t| Tag::new(t).is_some()), "{t:?}");
                assert_eq!(parse_tag(t.as_deref()), Some((kind, key)));
            }
        }
        assert_eq!(
            tag(Kind::Lag, &Key::Request("a b".into())).as_deref(),
            Some("lag.req=a%20b")
        );
        assert_eq!(parse_tag(Some("unknown")), None);
    }
}
