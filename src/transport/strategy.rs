//! Which way of handing pages to workers is worth it: transfer cost as a share of the render
//! cost of the whole site, per strategy, payload and copying transport.
use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    /// At most this share of render cost is `practical`.
    pub practical: f64,
    /// At most this share is `marginal`; above it, `impractical`.
    pub marginal: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            practical: 0.05,
            marginal: 0.25,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Practical,
    Marginal,
    Impractical,
    /// No render cost to compare with (a generator picklecost cannot render).
    Unknown,
}

pub fn classify(share: f64, t: Thresholds) -> Class {
    if share <= t.practical {
        Class::Practical
    } else if share <= t.marginal {
        Class::Marginal
    } else {
        Class::Impractical
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One copy of the whole Site per worker, pages rendered from it.
    SitePerWorker,
    /// Every page sent as its full Page object.
    EachPage,
    /// Every page sent as a smaller payload (subset or suggested).
    EachPayload,
}

impl Strategy {
    pub fn describe(self, payload: &str) -> String {
        match self {
            Strategy::SitePerWorker => "ship the full Site once per worker".into(),
            Strategy::EachPage => "ship each full Page".into(),
            Strategy::EachPayload => format!("ship each {payload} payload"),
        }
    }
}

/// Total transfer time of a strategy: W Site copies, or one payload per page.
pub fn transfer_ns(strategy: Strategy, roundtrip_p50: u64, pages: usize, workers: usize) -> f64 {
    match strategy {
        Strategy::SitePerWorker => roundtrip_p50 as f64 * workers as f64,
        Strategy::EachPage | Strategy::EachPayload => roundtrip_p50 as f64 * pages as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_inclusive_upper_bounds() {
        let t = Thresholds::default();
        assert_eq!(classify(0.0, t), Class::Practical);
        assert_eq!(classify(0.05, t), Class::Practical);
        assert_eq!(classify(0.050001, t), Class::Marginal);
        assert_eq!(classify(0.25, t), Class::Marginal);
        assert_eq!(classify(3.0, t), Class::Impractical);
    }

    #[test]
    fn transfer_totals() {
        assert_eq!(transfer_ns(Strategy::SitePerWorker, 1_000, 100, 4), 4_000.0);
        assert_eq!(transfer_ns(Strategy::EachPage, 1_000, 100, 4), 100_000.0);
        assert_eq!(transfer_ns(Strategy::EachPayload, 10, 100, 4), 1_000.0);
    }
}
