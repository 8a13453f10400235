//! HdrHistogram interval logs (`latency.hlog`, `detail.hlog`): tags,
//! base64, compressed histograms, a last line cut short.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = headroom::results::hlog::read(data);
});
