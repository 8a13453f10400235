//! CSV tables and the demand histories read from them (timestamps in the
//! forms people export, resampling).
#![no_main]
use libfuzzer_sys::fuzz_target;

use headroom::input::{history, table::Table};

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Table::from_csv(std::path::Path::new("fuzz.csv"), data.to_vec()) {
        let _ = history::from_table(&t, &history::Options::default());
    }
});
