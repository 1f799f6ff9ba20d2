//! Two analyze runs side by side: per payload, sizes (exact, so any change is a change) and
//! dumps/loads/round-trip latency, judged by a rank test on the recorded histograms
//! (`rank.rs`); verdict classes that changed; settings and machines that differ; `--fail-if`
//! limits. Reads only the report files (`input.rs`, untrusted); prints through `render.rs`.
pub mod input;
pub mod rank;
pub mod render;

use crate::model::limit::{Limit, LimitMetric};
use crate::settings::CompareSettings;
use input::{OPS, PayloadPart, REFERENCE, Run};
use serde::Serialize;
use std::collections::BTreeMap;

pub const METHOD: &str = "Mann-Whitney U on the histograms' reconstructed samples (tie-corrected normal approximation, two-sided), Bonferroni over the latency tests; shift = Hodges-Lehmann ratio; the after samples are first divided by the machine's change in speed (Hodges-Lehmann ratio of the reference object's round trips measured alongside the payload) when both runs recorded it";

/// Fewer reference round trips than this in either run: the machine's speed is not estimated.
const MIN_REFERENCE_SAMPLES: u64 = 3;

#[derive(Serialize, Debug, Clone)]
pub struct Comparison {
    pub before: String,
    pub after: String,
    /// Differences that make the runs not like for like (compared all the same).
    pub flags: Vec<Flag>,
    /// Things compare could not do (histograms missing, limits naming absent payloads).
    pub notes: Vec<String>,
    pub verdict_changes: Vec<VerdictChange>,
    pub verdicts_unchanged: usize,
    pub payloads: Vec<PayloadRow>,
    pub test: TestInfo,
    pub limits: Vec<LimitResult>,
    /// Some `--fail-if` limit was exceeded (exit 1).
    pub failed: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct Flag {
    pub what: &'static str,
    pub before: String,
    pub after: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct VerdictChange {
    pub strategy: String,
    pub payload: String,
    pub transport: String,
    /// None: the verdict is not in that run.
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct TestInfo {
    pub method: &'static str,
    pub alpha: f64,
    /// Latency tests made; each is judged at alpha / tests.
    pub tests: usize,
    pub per_test_alpha: f64,
    /// Shifts below this fraction are never significant.
    pub noise: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct PayloadRow {
    pub name: String,
    /// "both", "before only", "after only".
    pub presence: &'static str,
    pub picklable: Pair<Option<bool>>,
    pub size: Option<SizeChange>,
    pub latency: Vec<OpChange>,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct Pair<T> {
    pub before: T,
    pub after: T,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub before: u64,
    pub after: u64,
    /// after / before (None when before is 0).
    pub ratio: Option<f64>,
}

impl Stat {
    fn new(before: u64, after: u64) -> Self {
        Self {
            before,
            after,
            ratio: (before > 0).then(|| after as f64 / before as f64),
        }
    }

    /// Grew by more than `growth` (0.05 = 5%); from zero, any growth counts.
    fn grew_beyond(&self, growth: f64) -> bool {
        match self.ratio {
            Some(r) => r > 1.0 + growth,
            None => self.after > 0,
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct SizeChange {
    /// Objects sized in each run.
    pub objects: Pair<u64>,
    pub total: Stat,
    pub p50: Stat,
    pub max: Stat,
    /// Same objects with the same sizes, byte for byte.
    pub identical: bool,
    /// Objects (by key) sized in both runs, and how many of them changed size.
    pub matched_objects: usize,
    pub changed_objects: usize,
    /// Sizes are exact: any difference is significant.
    pub significant: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct OpChange {
    pub op: &'static str,
    pub samples: Pair<u64>,
    pub p50: Stat,
    pub p99: Stat,
    pub test: Option<TestResult>,
    pub significant: bool,
    /// "slower", "faster" or "no significant change".
    pub finding: &'static str,
    /// Statistically significant (p below the per-test level) but smaller than the noise floor.
    pub within_noise: bool,
    /// Why there is no test.
    pub untested: Option<String>,
}

#[derive(Serialize, Debug, Clone, Copy)]
pub struct TestResult {
    pub u: f64,
    pub z: f64,
    pub p_value: f64,
    /// Hodges-Lehmann estimate of after/before, adjusted for the machine's speed when known.
    pub shift_ratio: f64,
    /// The same estimate on the samples as recorded.
    pub raw_shift_ratio: f64,
    /// How much slower (>1) the machine ran the reference object while this payload was
    /// measured in the after run than in the before run; None when a run did not record it.
    pub machine_speed_ratio: Option<f64>,
    pub probability_slower: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct LimitResult {
    pub limit: String,
    pub exceeded: bool,
    /// `payload metric: +12.3%` for each payload that exceeded it.
    pub exceeded_by: Vec<String>,
    /// Payloads the limit was checked on.
    pub checked: Vec<String>,
}

pub fn compare(before: &Run, after: &Run, settings: &CompareSettings) -> Comparison {
    let mut notes = Vec::new();
    for (run, which) in [(before, "before"), (after, "after")] {
        if !run.missing_histograms.is_empty() {
            let missing = &run.missing_histograms;
            let shown: Vec<&str> = missing.iter().take(3).map(String::as_str).collect();
            notes.push(format!(
                "{which}: {} histogram file(s) missing ({}{}) — that latency is shown but not tested",
                missing.len(),
                shown.join(", "),
                if missing.len() > 3 { ", ..." } else { "" }
            ));
        }
    }
    for (run, which) in [(before, "before"), (after, "after")] {
        let measured = run.results.payloads.iter().any(|p| p.roundtrip_ns.samples > 0);
        let referenced = run
            .results
            .payloads
            .iter()
            .any(|p| p.reference_roundtrip_ns.samples > 0);
        if measured && !referenced {
            notes.push(format!(
                "{which}: no reference round trips recorded (a run of an older picklecost): latency is compared as recorded, not adjusted for the machine's speed"
            ));
        }
    }
    let names = payload_names(before, after);
    let mut payloads: Vec<PayloadRow> = names
        .iter()
        .map(|name| payload_row(name, before, after))
        .collect();
    let tests = payloads
        .iter()
        .flat_map(|p| &p.latency)
        .filter(|o| o.test.is_some())
        .count();
    let per_test_alpha = settings.alpha / tests.max(1) as f64;
    let floor = (1.0 + settings.noise).ln();
    for op in payloads.iter_mut().flat_map(|p| p.latency.iter_mut()) {
        if let Some(t) = op.test {
            let shift = t.shift_ratio.ln();
            let raw = t.raw_shift_ratio.ln();
            let detected = t.p_value < per_test_alpha;
            // Dividing out the machine's speed may explain a change away, never make one: the
            // samples as recorded must have moved the same way beyond the floor too (a reference
            // that spiked on its own would otherwise turn an unchanged payload into "faster").
            let recorded = raw.is_finite() && raw.abs() >= floor && raw.signum() == shift.signum();
            op.significant = detected && shift.is_finite() && shift.abs() >= floor && recorded;
            op.within_noise = detected && !op.significant;
            op.finding = match (op.significant, shift > 0.0) {
                (false, _) => "no significant change",
                (true, true) => "slower",
                (true, false) => "faster",
            };
        }
    }
    let limits: Vec<LimitResult> = settings
        .limits
        .iter()
        .map(|limit| check_limit(limit, &payloads))
        .collect();
    for l in &limits {
        if l.checked.is_empty() {
            notes.push(format!(
                "--fail-if {}: no payload in both runs to check it on",
                l.limit
            ));
        }
    }
    let (verdict_changes, verdicts_unchanged) = verdicts(before, after);
    // Payloads with a change first, in the runs' order otherwise.
    payloads.sort_by_key(|p| !changed(p));
    Comparison {
        before: before.label.clone(),
        after: after.label.clone(),
        flags: flags(before, after),
        notes,
        verdict_changes,
        verdicts_unchanged,
        failed: limits.iter().any(|l| l.exceeded),
        limits,
        payloads,
        test: TestInfo {
            method: METHOD,
            alpha: settings.alpha,
            tests,
            per_test_alpha,
            noise: settings.noise,
        },
    }
}

/// A payload whose size changed, latency changed significantly, or that is in one run only.
pub fn changed(p: &PayloadRow) -> bool {
    p.presence != "both"
        || p.picklable.before != p.picklable.after
        || p.size.as_ref().is_some_and(|s| s.significant)
        || p.latency.iter().any(|o| o.significant)
}

/// Payload names of both runs, in the order of the after run, then the ones only before had.
fn payload_names(before: &Run, after: &Run) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in after.results.payloads.iter().chain(&before.results.payloads) {
        if !names.contains(&p.name) {
            names.push(p.name.clone());
        }
    }
    names
}

fn find<'a>(run: &'a Run, name: &str) -> Option<&'a PayloadPart> {
    run.results.payloads.iter().find(|p| p.name == name)
}

fn payload_row(name: &str, before: &Run, after: &Run) -> PayloadRow {
    let (b, a) = (find(before, name), find(after, name));
    let presence = match (b, a) {
        (Some(_), Some(_)) => "both",
        (Some(_), None) => "before only",
        _ => "after only",
    };
    let picklable = Pair {
        before: b.map(|p| p.picklable),
        after: a.map(|p| p.picklable),
    };
    let (Some(b), Some(a)) = (b, a) else {
        return PayloadRow {
            name: name.to_string(),
            presence,
            picklable,
            size: None,
            latency: Vec::new(),
        };
    };
    let size = match (b.bytes, a.bytes) {
        (Some(bb), Some(ab)) => {
            let before_sizes: BTreeMap<&str, u64> =
                b.sizes.iter().map(|s| (s.key.as_str(), s.bytes)).collect();
            let mut matched = 0;
            let mut changed = 0;
            for s in &a.sizes {
                if let Some(&old) = before_sizes.get(s.key.as_str()) {
                    matched += 1;
                    changed += usize::from(old != s.bytes);
                }
            }
            let same_objects = matched == b.sizes.len() && matched == a.sizes.len();
            let identical = bb == ab && b.count == a.count && changed == 0 && same_objects;
            Some(SizeChange {
                objects: Pair {
                    before: b.count,
                    after: a.count,
                },
                total: Stat::new(bb.total, ab.total),
                p50: Stat::new(bb.median, ab.median),
                max: Stat::new(bb.max, ab.max),
                identical,
                matched_objects: matched,
                changed_objects: changed,
                significant: !identical,
            })
        }
        _ => None,
    };
    let speed = machine_speed(before, after, name);
    let latency = OPS
        .iter()
        .filter_map(|&op| {
            let (lb, la) = (b.latency(op), a.latency(op));
            if lb.samples == 0 && la.samples == 0 {
                return None;
            }
            let (test, untested) = match (histogram(before, name, op), histogram(after, name, op)) {
                (Some(hb), Some(ha)) => {
                    let adjusted = speed.map(|s| ha.scaled(1.0 / s));
                    match rank::mann_whitney(hb, adjusted.as_ref().unwrap_or(ha)) {
                        Some(t) => (
                            Some(TestResult {
                                u: t.u,
                                z: t.z,
                                p_value: t.p_value,
                                shift_ratio: t.shift_ratio,
                                raw_shift_ratio: match adjusted {
                                    Some(_) => rank::hodges_lehmann_ratio(hb, ha),
                                    None => t.shift_ratio,
                                },
                                machine_speed_ratio: speed,
                                probability_slower: t.probability_slower,
                            }),
                            None,
                        ),
                        None => (None, Some("a run has no samples".to_string())),
                    }
                }
                _ => (None, Some("histogram missing".to_string())),
            };
            Some(OpChange {
                op,
                samples: Pair {
                    before: lb.samples,
                    after: la.samples,
                },
                p50: Stat::new(lb.p50, la.p50),
                p99: Stat::new(lb.p99, la.p99),
                test,
                significant: false,
                finding: "no significant change",
                within_noise: false,
                untested,
            })
        })
        .collect();
    PayloadRow {
        name: name.to_string(),
        presence,
        picklable,
        size,
        latency,
    }
}

/// after/before of the reference object's round trips measured alongside payload `name`:
/// how much slower the machine itself was (load, frequency, noise) in the after run.
fn machine_speed(before: &Run, after: &Run, name: &str) -> Option<f64> {
    let (rb, ra) = (
        histogram(before, name, REFERENCE)?,
        histogram(after, name, REFERENCE)?,
    );
    if rb.len() < MIN_REFERENCE_SAMPLES || ra.len() < MIN_REFERENCE_SAMPLES {
        return None;
    }
    let ratio = rank::hodges_lehmann_ratio(rb, ra);
    (ratio.is_finite() && ratio > 0.0).then_some(ratio)
}

fn histogram<'a>(run: &'a Run, name: &str, op: &str) -> Option<&'a rank::Distribution> {
    run.histograms.get(name).and_then(|h| h.get(op))
}

fn check_limit(limit: &Limit, payloads: &[PayloadRow]) -> LimitResult {
    let mut exceeded_by = Vec::new();
    let mut checked = Vec::new();
    for p in payloads {
        match limit.metric {
            LimitMetric::Size => {
                let Some(size) = &p.size else { continue };
                if !limit.applies(&p.name, LimitMetric::Size) {
                    continue;
                }
                checked.push(p.name.clone());
                if size.significant && size.total.grew_beyond(limit.growth) {
                    exceeded_by.push(format!(
                        "{} size: {} → {} ({})",
                        p.name,
                        crate::units::bytes(size.total.before),
                        crate::units::bytes(size.total.after),
                        size.total.ratio.map_or("new".into(), crate::units::change)
                    ));
                }
            }
            metric => {
                let Some(op) = p.latency.iter().find(|o| o.op == metric.name()) else {
                    continue;
                };
                if !limit.applies(&p.name, metric) {
                    continue;
                }
                checked.push(p.name.clone());
                if let Some(t) = op.test
                    && op.significant
                    && t.shift_ratio > 1.0 + limit.growth
                {
                    exceeded_by.push(format!(
                        "{} {}: {} (p = {:.1e})",
                        p.name,
                        op.op,
                        crate::units::change(t.shift_ratio),
                        t.p_value
                    ));
                }
            }
        }
    }
    LimitResult {
        limit: limit.text.clone(),
        exceeded: !exceeded_by.is_empty(),
        exceeded_by,
        checked,
    }
}

fn verdicts(before: &Run, after: &Run) -> (Vec<VerdictChange>, usize) {
    let key = |v: &input::VerdictPart| (v.payload.clone(), v.transport.clone());
    let before_map: BTreeMap<_, _> = before.results.verdicts.iter().map(|v| (key(v), v)).collect();
    let after_map: BTreeMap<_, _> = after.results.verdicts.iter().map(|v| (key(v), v)).collect();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let mut keys: Vec<_> = after.results.verdicts.iter().map(key).collect();
    keys.extend(
        before
            .results
            .verdicts
            .iter()
            .map(key)
            .filter(|k| !after_map.contains_key(k)),
    );
    for k in keys {
        let (b, a) = (before_map.get(&k), after_map.get(&k));
        let (bc, ac) = (b.map(|v| v.class.clone()), a.map(|v| v.class.clone()));
        if bc == ac {
            unchanged += 1;
            continue;
        }
        changes.push(VerdictChange {
            strategy: a.or(b).map(|v| v.strategy.clone()).unwrap_or_default(),
            payload: k.0.clone(),
            transport: k.1.clone(),
            before: bc,
            after: ac,
        });
    }
    (changes, unchanged)
}

/// What makes two runs not like for like.
fn flags(before: &Run, after: &Run) -> Vec<Flag> {
    let (b, a) = (&before.results, &after.results);
    let python = |r: &input::RunResults| {
        format!(
            "{} {}{}",
            r.python.implementation,
            r.python.version,
            if r.python.free_threaded {
                " (free-threaded)"
            } else {
                ""
            }
        )
        .trim()
        .to_string()
    };
    let generator = |r: &input::RunResults| {
        format!("{} {}", r.site.generator, r.site.generator_version)
            .trim()
            .to_string()
    };
    let protocol = |r: &input::RunResults| r.settings.protocol.map_or("unknown".into(), |p| p.to_string());
    let cpu = |r: &input::RunResults| format!("{} ({} CPUs)", r.environment.cpu, r.environment.cpu_count);
    let stage = |r: &input::RunResults| r.site.stage.clone();
    let gc = |r: &input::RunResults| r.settings.gc.clone().unwrap_or_default();
    let mut out = Vec::new();
    type Get<'a> = &'a dyn Fn(&input::RunResults) -> String;
    let checks: [(&'static str, Get); 6] = [
        ("python", &python),
        ("generator", &generator),
        ("protocol", &protocol),
        ("machine", &cpu),
        ("stage", &stage),
        ("gc", &gc),
    ];
    for (what, get) in checks {
        let (x, y) = (get(b), get(a));
        if x != y {
            out.push(Flag {
                what,
                before: x,
                after: y,
            });
        }
    }
    out
}
