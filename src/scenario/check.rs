//! What every part of a scenario's checking shares: the context that turns
//! a span into file:line:column, and the readers of values several tables
//! take (durations, rates, shares, service times, names).

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::{raw, Error};
use crate::embedded::{rules, ServiceTime};
use crate::units::{check_share, parse_duration, parse_share};

pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        msg: impl Into<String>,
    ) -> Result<T, Error> {
        Err(Error::at(self.path, self.text, Some(span), msg))
    }
    pub(super) fn duration(&self, v: &Spanned<String>) -> Result<Duration, Error> {
        parse_duration(v.get_ref()).or_else(|m| self.err(v.span(), m))
    }
    pub(super) fn positive_duration(
        &self,
        v: &Spanned<String>,
        what: &str,
    ) -> Result<Duration, Error> {
        let d = self.duration(v)?;
        if d.is_zero() {
            return self.err(v.span(), format!("{what} must be longer than zero"));
        }
        Ok(d)
    }
    pub(super) fn rate(&self, v: &Spanned<f64>) -> Result<f64, Error> {
        let r = *v.get_ref();
        super::check_rate(r).or_else(|m| self.err(v.span(), m))?;
        Ok(r)
    }
}

/// `service_time = { dist = "…", mean = "…", sigma = … }`.
pub(super) fn service_time(cx: &Ctx, st: &raw::ServiceTime) -> Result<ServiceTime, Error> {
    let mean = rules::mean(cx.duration(&st.mean)?).or_else(|m| cx.err(st.mean.span(), m))?;
    let service_time = match st.dist.get_ref().as_str() {
        "fixed" => ServiceTime::Fixed { mean },
        "exponential" => ServiceTime::Exponential { mean },
        "lognormal" => {
            let sigma = st.sigma.as_ref().map_or(0.5, |s| *s.get_ref());
            let span = st.sigma.as_ref().map_or(st.dist.span(), |s| s.span());
            rules::lognormal(mean, sigma).or_else(|m| cx.err(span, m))?
        }
        other => {
            return cx.err(
                st.dist.span(),
                format!("unknown distribution {other:?}: expected \"fixed\", \"exponential\" or \"lognormal\""),
            )
        }
    };
    if let (Some(s), false) = (
        &st.sigma,
        matches!(service_time, ServiceTime::LogNormal { .. }),
    ) {
        return cx.err(s.span(), "sigma applies only to dist = \"lognormal\"");
    }
    Ok(service_time)
}

pub(super) fn share(cx: &Ctx, v: &Spanned<toml::Value>) -> Result<f64, Error> {
    share_value(v.get_ref()).or_else(|m| cx.err(v.span(), m))
}

/// A share as a scenario may write it: "1%", 0.01, or 0 and 1.
pub(super) fn share_value(v: &toml::Value) -> Result<f64, String> {
    match v {
        toml::Value::String(s) => parse_share(s),
        toml::Value::Float(f) => check_share(*f),
        toml::Value::Integer(i) => check_share(*i as f64),
        other => Err(format!(
            "expected a share like \"1%\" or 0.01, found {}",
            other.type_str()
        )),
    }
}

pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

pub(super) fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
