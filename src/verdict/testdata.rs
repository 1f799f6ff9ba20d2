//! Measured payloads and verdict rows built by hand, for the verdict and report tests: every
//! figure is chosen here, so a test can derive what a sentence or a table must say.
use crate::model::explain::{Culprit, Dropped, FieldComparison, RootCause};
use crate::model::results::{FailureSearch, PayloadJson, PlanJson, RepairedJson, SuggestionJson};
use crate::model::stats::{ByteStats, LatencySummary};
use crate::model::transport::VerdictRow;
use crate::model::{PayloadKind, TransportKind, VerdictClass};
use std::collections::BTreeMap;

/// A latency summary around `p50` ns (p90 = 2x, p99 = 3x), of 100 samples.
pub fn latency(p50: u64) -> LatencySummary {
    LatencySummary {
        min: p50 / 2,
        p50,
        p90: p50 * 2,
        p99: p50 * 3,
        max: p50 * 4,
        mean: p50 as f64 * 1.2,
        stdev: p50 as f64 * 0.1,
        samples: 100,
    }
}

/// Sizes whose median is `median` (max = 2x) for `objects` objects.
pub fn byte_stats(median: u64, objects: usize) -> ByteStats {
    ByteStats {
        min: median / 2,
        median,
        p90: median + median / 2,
        max: median * 2,
        total: median * objects as u64,
    }
}

/// A picklable payload of `objects` objects: median `median` bytes, round trip p50 `p50` ns
/// (dumps 40% of it, loads 60%).
pub fn payload(kind: PayloadKind, objects: usize, median: u64, p50: u64) -> PayloadJson {
    PayloadJson {
        name: kind,
        picklable: true,
        error: None,
        count: objects,
        objects,
        bytes: Some(byte_stats(median, objects)),
        dumps_ns: latency(p50 * 2 / 5),
        loads_ns: latency(p50 * 3 / 5),
        roundtrip_ns: latency(p50),
        reference_roundtrip_ns: latency(1_000),
        failures_count: 0,
        failed_objects: Vec::new(),
        root_causes: Vec::new(),
        failures: Vec::new(),
        repaired: None,
        failure_search: None,
        attribution: None,
        drag: Vec::new(),
        diagnosis_errors: Vec::new(),
        sampled: false,
        selection: format!("all {objects} objects"),
        iterations: 100,
        measured_seconds: 0.5,
        import_closure: Vec::new(),
        plain_data: Some(true),
        unsafe_globals: Vec::new(),
        inspected: objects.min(3),
        plan: PlanJson {
            wall_seconds: 0.6,
            release_seconds: 0.01,
            round_estimate_seconds: 0.001,
            share_seconds: 0.2,
            sized: objects,
            timed: objects,
            cut_by_budget: false,
        },
        sizes: Vec::new(),
    }
}

/// A payload none of whose `objects` objects pickles, failing with `error`.
pub fn unpicklable(kind: PayloadKind, objects: usize, error: &str) -> PayloadJson {
    PayloadJson {
        picklable: false,
        error: Some(error.to_string()),
        count: 0,
        bytes: None,
        dumps_ns: LatencySummary::default(),
        loads_ns: LatencySummary::default(),
        roundtrip_ns: LatencySummary::default(),
        failures_count: objects,
        ..payload(kind, objects, 0, 0)
    }
}

pub fn culprit(path: &str, type_name: &str, error: &str) -> Culprit {
    Culprit {
        path: path.to_string(),
        type_name: type_name.to_string(),
        error: error.to_string(),
        paths_reaching: 2,
    }
}

pub fn root_cause(pattern: &str, type_name: &str, count: u64) -> RootCause {
    RootCause {
        pattern: pattern.to_string(),
        type_name: type_name.to_string(),
        error: format!("cannot pickle '{type_name}' object"),
        count,
        example: pattern.replace("[*]", "[0]"),
        paths: count,
    }
}

/// A verdict row of `payload` via `transport`: `share` of the render cost (None: not shippable).
pub fn row(
    payload: PayloadKind,
    transport: TransportKind,
    share: Option<f64>,
    class: VerdictClass,
) -> VerdictRow {
    VerdictRow {
        transfer_total_ns: None,
        share_interval: None,
        site_data: None,
        strategy: format!("ship each {payload} payload"),
        payload,
        transport,
        workers: 4,
        transfer_share: share,
        result_share: share.map(|s| s / 10.0),
        setup_share: Some(0.01),
        class,
        why: format!("{payload} via {transport} | measured"),
        held_back: false,
        predicted_speedup: None,
        prediction: None,
        measured_speedup: None,
        measured_reason: None,
        checked_with: None,
        measured_class: None,
        predicted_check_speedup: None,
    }
}

/// A Site that fails to pickle: two culprits under two root causes, a cut-short search, and
/// what it would cost after repairs.
pub fn unpicklable_site() -> PayloadJson {
    let mut site = unpicklable(
        PayloadKind::Site,
        1,
        "TypeError: cannot pickle '_thread.RLock' object",
    );
    site.failures = vec![
        culprit(
            "site._lock",
            "_thread.RLock",
            "cannot pickle '_thread.RLock' object",
        ),
        culprit(
            "site.pages[3]._file",
            "_io.TextIOWrapper",
            "cannot pickle 'TextIOWrapper' instances",
        ),
    ];
    site.root_causes = vec![
        root_cause("site._lock", "_thread.RLock", 1),
        root_cause("site.pages[*]._file", "_io.TextIOWrapper", 12),
    ];
    site.failure_search = Some(FailureSearch {
        visited: 4321,
        truncated: true,
        limits: vec!["depth 40".into()],
    });
    site.repaired = Some(RepairedJson {
        label: "after repairs",
        subject: "the Site".into(),
        bytes: Some(800_000),
        dumps_ns: latency(3_000_000),
        loads_ns: latency(5_000_000),
        roundtrip_ns: latency(8_000_000),
        repairs: BTreeMap::from([("RLock".to_string(), 1), ("TextIOWrapper".to_string(), 12)]),
        error: None,
        transfer_share: Some(0.021),
        class: Some(VerdictClass::Marginal),
    });
    site
}

/// A suggestion of `source_path,title` whose `page_suggested` measured `measured` bytes.
pub fn suggestion(measured: Option<u64>) -> SuggestionJson {
    SuggestionJson {
        fields: vec!["source_path".into(), "title".into()],
        exclude_keys: BTreeMap::new(),
        median_bytes: Some(1_100),
        measured_median_bytes: measured,
        dropped: vec![Dropped {
            field: "_site".into(),
            reason: "drags the Site | graph".into(),
        }],
        options: "--fields source_path,title".into(),
        generator_comparison: Some(FieldComparison {
            only_suggested: vec!["title".into()],
            only_generator: vec!["href".into()],
            both: vec!["source_path".into()],
        }),
    }
}
