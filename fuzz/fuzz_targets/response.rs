//! What a server sends back, over HTTP/1.1 and HTTP/2: the response path
//! must end (1 s at most) with an answer or an error kind, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = headroom::load::answer_to(data, false);
    let _ = headroom::load::answer_to(data, true);
});
