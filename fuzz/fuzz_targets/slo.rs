//! SLO files: OpenSLO YAML (anchors and aliases included: expansion is
//! bounded) and TOML.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = headroom::input::slo::parse(std::path::Path::new("fuzz.yaml"), text);
        let _ = headroom::input::slo::parse(std::path::Path::new("fuzz.toml"), text);
    }
});
