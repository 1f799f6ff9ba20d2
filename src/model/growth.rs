//! `--growth` in results.json: real copies of the site with fewer or more pages, what each
//! measured, the fits per quantity (dumps, loads, the round trip as their sum, the size, the
//! generator's own load) and their projections, with an interval widened by an out-of-sample
//! check and refused beyond a stated extrapolation limit.
use super::PayloadKind;
use serde::Serialize;

/// What a growth fit is of.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GrowthQuantity {
    /// The pickled size (the Site's, or the median page's).
    Bytes,
    /// `pickle.dumps` p50.
    DumpsNs,
    /// `pickle.loads` p50.
    LoadsNs,
    /// The round trip p50; projected as the dumps and loads projections added.
    RoundtripNs,
    /// The generator's own load of the copy (e.g. Bengal's `Site.from_config` + discovery).
    GeneratorLoadNs,
}

impl GrowthQuantity {
    pub fn label(self) -> &'static str {
        match self {
            GrowthQuantity::Bytes => "size",
            GrowthQuantity::DumpsNs => "dumps p50",
            GrowthQuantity::LoadsNs => "loads p50",
            GrowthQuantity::RoundtripNs => "round trip p50",
            GrowthQuantity::GeneratorLoadNs => "generator load time",
        }
    }

    pub fn is_time(self) -> bool {
        self != GrowthQuantity::Bytes
    }
}

/// `--growth`: real loads of real copies of the site with fewer or more pages, fitted against
/// page count and projected (a projection, labelled so).
#[derive(Serialize, Debug, Clone, Default)]
pub struct GrowthJson {
    /// Content factors of the copies (1 = the site itself, copied).
    pub factors: Vec<f64>,
    /// The machine's last-level cache in bytes (from /sys), which decided how far the copies go.
    pub llc_bytes: Option<u64>,
    /// Each measured copy.
    pub copies: Vec<GrowthCopy>,
    pub points: Vec<GrowthPoint>,
    pub fits: Vec<GrowthFit>,
    pub projections: Vec<GrowthProjection>,
    /// No projection beyond this many times the largest measured copy.
    pub max_extrapolation: f64,
    /// Copies that could not be made or measured, and why.
    pub errors: Vec<String>,
}

impl GrowthJson {
    /// The payloads measured on the copies, each once, in report order.
    pub fn payloads(&self) -> Vec<PayloadKind> {
        let mut kinds: Vec<PayloadKind> = self.points.iter().map(|p| p.payload).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The largest copy measured, in pages.
    pub fn largest(&self) -> Option<u64> {
        self.copies.iter().map(|c| c.pages).max()
    }
}

/// One copy of the site, made, loaded and measured.
#[derive(Serialize, Debug, Clone)]
pub struct GrowthCopy {
    pub factor: f64,
    pub pages: u64,
    /// The generator's own load of the copy (the adapter's load, not the private copy).
    pub load_ns: u64,
    /// Why this copy was made: the default ladder, the cache, or `--growth-pages`.
    pub reason: CopyReason,
    /// Wall time of making, loading and measuring it.
    pub seconds: f64,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CopyReason {
    /// 1/8 .. all of the pages, and 2x, 4x for small sites.
    Ladder,
    /// A doubling until the Site's pickle outgrows the last-level cache.
    Cache,
    /// Asked for with `--growth-pages`.
    Asked,
}

impl CopyReason {
    pub fn label(self) -> &'static str {
        match self {
            CopyReason::Ladder => "1/8 .. 4 times the pages",
            CopyReason::Cache => "doubling toward the last-level cache",
            CopyReason::Asked => "--growth-pages",
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct GrowthPoint {
    pub pages: u64,
    pub payload: PayloadKind,
    /// The Site's size, or the median page's; None when it does not pickle.
    pub bytes: Option<u64>,
    pub dumps_ns: Option<u64>,
    pub loads_ns: Option<u64>,
    /// Round trip p50.
    pub roundtrip_ns: Option<u64>,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GrowthModel {
    /// y = a + b * pages
    Linear,
    /// y = a * pages^k
    Power,
    /// y = the mean: a quantity that does not grow with the pages (k < 0.3 over every copy).
    Flat,
}

/// Where the per-page cost (value / pages) steps up and stays up.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct StepUp {
    /// The last copy before the step and the first one after it.
    pub from_pages: u64,
    pub to_pages: u64,
    /// The lowest per-page cost before the step, and the per-page cost after it.
    pub per_page_before: f64,
    pub per_page_after: f64,
}

/// The model fitted without the largest copy, and what it predicted for it.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct Holdout {
    pub pages: u64,
    /// The largest copy the check's fit saw.
    pub fitted_up_to: u64,
    pub predicted: f64,
    pub measured: f64,
    /// |ln(measured / predicted)|: the interval widens by this per extrapolation of
    /// `pages / fitted_up_to` (compounding, see docs/method.md).
    pub log_error: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct GrowthFit {
    /// None for the generator's load (a whole-site quantity of no payload).
    pub payload: Option<PayloadKind>,
    pub quantity: GrowthQuantity,
    /// The least-squares line over every copy (the table's "per page").
    pub intercept: f64,
    pub slope_per_page: f64,
    pub r2: f64,
    /// k of quantity ~ pages^k (log-log fit over every copy): 1 is linear.
    pub exponent: Option<f64>,
    /// k over the copies the projection rests on (the larger ones): "grows like pages^k".
    pub upper_exponent: Option<f64>,
    /// The measured points grow but bend away from a line (k at least 0.3 and outside 0.8..1.2).
    pub bends: bool,
    /// The model the projection uses: the one that predicted the largest copy best.
    pub model: Option<GrowthModel>,
    /// The smallest copy the projection's fit uses.
    pub fitted_from_pages: u64,
    pub step_up: Option<StepUp>,
    pub holdout: Option<Holdout>,
}

#[derive(Serialize, Debug, Clone)]
pub struct GrowthProjection {
    pub pages: u64,
    pub payload: Option<PayloadKind>,
    pub quantity: GrowthQuantity,
    /// pages / the largest copy measured (below 1: within the measured range).
    pub extrapolation: f64,
    /// False beyond `max_extrapolation`: no number is given.
    pub supported: bool,
    pub value: Option<f64>,
    /// The 95% interval of the fit, widened by the out-of-sample check.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The fit's own 95% interval before widening.
    pub fit_low: Option<f64>,
    pub fit_high: Option<f64>,
}
