//! `--fail-if` limits of `picklecost compare`, parsed: plain data.
use crate::error::UserError;
use crate::model::PayloadKind;

/// What a `--fail-if` limit watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitMetric {
    /// Total bytes of the payload (exact).
    Size,
    Dumps,
    Loads,
    Roundtrip,
}

impl LimitMetric {
    pub fn name(self) -> &'static str {
        match self {
            LimitMetric::Size => "size",
            LimitMetric::Dumps => "dumps",
            LimitMetric::Loads => "loads",
            LimitMetric::Roundtrip => "roundtrip",
        }
    }
}

/// `[PAYLOAD.]METRIC:+N%`: fail when METRIC of PAYLOAD (of any payload without one) grew by
/// more than N percent, by a significant change.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub text: String,
    pub payload: Option<PayloadKind>,
    pub metric: LimitMetric,
    /// Allowed growth as a fraction: 0.05 for `+5%`.
    pub growth: f64,
}

impl Limit {
    pub fn parse(text: &str) -> Result<Self, UserError> {
        let bad = |why: &str| {
            UserError::Compare(format!(
                "--fail-if {text:?}: {why}; write [PAYLOAD.]METRIC:+N% with METRIC one of size, \
                 dumps, loads, roundtrip (e.g. size:+5% or page_subset.roundtrip:+10%)"
            ))
        };
        let trimmed = text.trim();
        let (target, amount) = trimmed.split_once(':').ok_or_else(|| bad("no ':'"))?;
        let (payload, metric) = match target.rsplit_once('.') {
            Some((payload, metric)) => (Some(payload.trim()), metric.trim()),
            None => (None, target.trim()),
        };
        let metric = match metric {
            "size" => LimitMetric::Size,
            "dumps" => LimitMetric::Dumps,
            "loads" => LimitMetric::Loads,
            "roundtrip" => LimitMetric::Roundtrip,
            other => return Err(bad(&format!("unknown metric {other:?}"))),
        };
        let payload = match payload {
            Some(name) => Some(
                PayloadKind::from_name(name)
                    .ok_or_else(|| bad(&format!("unknown payload {name:?} (one of {})", payload_names())))?,
            ),
            None => None,
        };
        let number = amount
            .trim()
            .strip_prefix('+')
            .and_then(|n| n.strip_suffix('%'))
            .ok_or_else(|| bad("the limit must look like +N%"))?;
        let percent: f64 = number
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| bad(&format!("{number:?} is not a non-negative number")))?;
        Ok(Self {
            text: trimmed.to_string(),
            payload,
            metric,
            growth: percent / 100.0,
        })
    }

    /// Whether this limit watches `payload`'s `metric`.
    pub fn applies(&self, payload: &str, metric: LimitMetric) -> bool {
        self.metric == metric && self.payload.is_none_or(|p| p.name() == payload)
    }
}

/// Every payload kind's name, as results.json spells it.
fn payload_names() -> String {
    let names: Vec<&str> = PayloadKind::all().iter().map(|k| k.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_if_limits_parse() {
        let l = Limit::parse("size:+5%").unwrap();
        assert_eq!((l.payload, l.metric, l.growth), (None, LimitMetric::Size, 0.05));
        let l = Limit::parse(" page_subset.roundtrip:+12.5% ").unwrap();
        assert_eq!(l.payload, Some(PayloadKind::PageSubset));
        assert_eq!(l.metric, LimitMetric::Roundtrip);
        assert!((l.growth - 0.125).abs() < 1e-12);
        assert!(l.applies("page_subset", LimitMetric::Roundtrip));
        assert!(!l.applies("page", LimitMetric::Roundtrip));
        for bad in [
            "size",
            "size:5",
            "size:+5",
            "size:-5%",
            "bytes:+5%",
            "pages.size:+5%",
            "size:+x%",
            "size:+inf%",
        ] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_payload_kind_can_be_limited() {
        for &kind in PayloadKind::all() {
            let l = Limit::parse(&format!("{}.size:+5%", kind.name())).unwrap();
            assert_eq!(l.payload, Some(kind));
            assert!(l.applies(kind.name(), LimitMetric::Size));
        }
        let l = Limit::parse("site_extra.size:+5%").unwrap();
        assert_eq!(l.payload, Some(PayloadKind::SiteExtra));
        assert!(!l.applies("site", LimitMetric::Size));
        let err = Limit::parse("pages.size:+5%").unwrap_err().to_string();
        for &kind in PayloadKind::all() {
            assert!(err.contains(kind.name()), "{kind} missing from: {err}");
        }
    }
}
