//! What one request came to, over HTTP/1.1 or HTTP/2: an answer, or a
//! failure with its kind.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::metrics::ErrorKind;

/// A response: status, headers, body bytes read, and the body itself when kept.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: u64,
    pub body: Option<Bytes>,
}

/// A request that failed; `unprocessed` when the server said it did not
/// act on it, or it never left (safe to send again).
#[derive(Debug)]
pub struct Failed {
    pub kind: ErrorKind,
    pub unprocessed: bool,
    /// What the client said, for the summary's sample of this kind.
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

impl Failed {
    /// The error and its causes in words, each once.
    pub fn said(&self) -> String {
        let mut words = self.error.to_string();
        let mut src = self.error.source();
        while let Some(s) = src {
            let next = s.to_string();
            if !words.contains(&next) {
                words = format!("{words}: {next}");
            }
            src = s.source();
        }
        words
    }
}
