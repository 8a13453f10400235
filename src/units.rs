//! Units shared by every part: durations written by people ("250ms", "1.5s"),
//! shares ("1%", 0.01), and numbers formatted for people.

use std::time::Duration;

/// The longest duration accepted anywhere: 100 years.
pub const MAX_DURATION_S: f64 = 100.0 * 365.25 * 86_400.0;

/// Parses a duration such as `250ms`, `1.5s`, `2m`, `100us`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("expected a duration like \"250ms\" or \"1.5s\", found {text:?}"))?;
    let seconds_per_unit = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 7.0 * 86_400.0,
        "" => return Err(format!("duration {text:?} needs a unit (ms, s, m, h)")),
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (expected ns, us, ms, s, m, h, d or w)"
            ))
        }
    };
    let secs = value * seconds_per_unit;
    // Longer than any horizon, window or lead time means a typo; it would
    // also overflow date arithmetic further on.
    if secs > MAX_DURATION_S {
        return Err(format!("duration {text:?} is longer than 100 years"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("duration {text:?} is out of range"))
}

/// Parses a share written as a percentage (`"1%"`, `"0.5 %"`) or a fraction (`"0.01"`).
pub fn parse_share(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = if let Some(p) = t.strip_suffix('%') {
        // Move the decimal point in the text, not by dividing: "99.9%" is
        // then exactly the float 0.999 reads as (99.9 / 100 is not).
        let p = p.trim();
        let (int, frac) = p.split_once('.').unwrap_or((p, ""));
        if int.chars().all(|c| c.is_ascii_digit()) && frac.chars().all(|c| c.is_ascii_digit()) {
            let int = format!("{int:0>3}");
            let (head, tail) = int.split_at(int.len() - 2);
            format!("{head}.{tail}{frac}").parse::<f64>()
        } else {
            p.parse::<f64>().map(|v| v / 100.0)
        }
    } else {
        t.parse::<f64>()
    }
    .map_err(|_| format!("expected a share like \"1%\" or 0.01, found {text:?}"))?;
    check_share(value)
}

/// Checks that a share lies in [0, 1].
pub fn check_share(value: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "a share must lie between 0 and 1 (0 % and 100 %), found {value}"
        ))
    }
}

/// Formats a count for people: 950, 1.2k, 3.4M.
pub fn fmt_count(v: f64) -> String {
    // An empty sum is −0.0: print it as 0.
    let v = v + 0.0;
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Formats a whole number of seconds in the largest exact unit: 30s, 15m,
/// 1h, 1d, 1w.
pub fn fmt_step(seconds: u64) -> String {
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds >= size && seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// Formats money for people: $1,234 or $0.42 (two decimals below $100).
pub fn fmt_money(v: f64) -> String {
    if v.abs() < 100.0 {
        return format!("${v:.2}");
    }
    let whole = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out}", if v < 0.0 { "-" } else { "" })
}

/// Formats milliseconds for people: 0.41 ms, 12.3 ms, 1.25 s.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("100us").unwrap(), Duration::from_micros(100));
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("36600d").unwrap_err().contains("100 years"));
        assert!(parse_duration("10 parsecs")
            .unwrap_err()
            .contains("unknown duration unit"));
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn shares_parse_as_percent_or_fraction() {
        assert_eq!(parse_share("1%").unwrap(), 0.01);
        assert_eq!(parse_share("99.9%").unwrap(), 0.999);
        assert_eq!(parse_share("99.95 %").unwrap(), 0.9995);
        assert_eq!(parse_share("0.5%").unwrap(), 0.005);
        assert_eq!(parse_share("100%").unwrap(), 1.0);
        assert_eq!(parse_share("0.25").unwrap(), 0.25);
        assert!(parse_share("150%").is_err());
        assert!(parse_share("x").is_err());
    }

    #[test]
    fn numbers_format_for_people() {
        assert_eq!(fmt_count(950.0), "950");
        assert_eq!(fmt_count(-0.0), "0");
        assert_eq!(fmt_count(12_345.0), "12.3k");
        assert_eq!(fmt_ms(0.412), "0.41 ms");
        assert_eq!(fmt_ms(1250.0), "1.25 s");
        assert_eq!(fmt_step(3600), "1h");
        assert_eq!(fmt_step(90), "90s");
        assert_eq!(fmt_money(1234.4), "$1,234");
        assert_eq!(fmt_money(1_234_567.0), "$1,234,567");
        assert_eq!(fmt_money(0.421), "$0.42");
    }
}
