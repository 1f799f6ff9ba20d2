//! The verdict checked by a short real parallel run: each row's measured speed-up (its
//! transport's strategy rendering a sample at the row's W), and the class that run allows. No
//! row is `practical` while a real run of its strategy is not faster than sequential beyond
//! the noise; one slower than sequential is `impractical`.
use crate::model::TransportKind;
use crate::model::VerdictClass as Class;
use crate::model::scale::{Check, Scale, ScaleRun, Strategy, Workload};
use crate::model::transport::VerdictRow;
use crate::transport::Outcome;
use crate::verdict::predict::{Cold, ItemCosts, Sample};

/// The least a real run must beat sequential by to count as faster, however quiet the
/// baseline's two timings were: 10%.
pub const MARGIN_FLOOR: f64 = 0.10;

/// |first - last| / their mean: how far the same sequential run moved between two timings.
pub fn noise(first: f64, last: f64) -> Option<f64> {
    let mean = (first + last) / 2.0;
    (mean > 0.0).then(|| (first - last).abs() / mean)
}

/// max(`MARGIN_FLOOR`, the baseline's noise).
pub fn margin(noise: Option<f64>) -> f64 {
    noise.unwrap_or(0.0).max(MARGIN_FLOOR)
}

/// At least 1 + margin: practical; below 1 - noise: slower than sequential, impractical;
/// between: marginal.
pub fn measured_class(speedup: f64, margin: f64, noise: f64) -> Class {
    if speedup >= 1.0 + margin {
        Class::Practical
    } else if speedup < 1.0 - noise {
        Class::Impractical
    } else {
        Class::Marginal
    }
}

/// The worse of two classes of practical, marginal and impractical (any other class is kept).
pub fn worse(a: Class, b: Class) -> Class {
    let rank = |c: Class| match c {
        Class::Practical => 0,
        Class::Marginal => 1,
        _ => 2,
    };
    match (a, b) {
        (Class::Blocked | Class::Unknown, _) => a,
        _ if rank(b) > rank(a) => b,
        _ => a,
    }
}

/// The check's render run of `transport`'s strategy at its W, or why there is none.
pub fn run_of(check: &Check, transport: TransportKind) -> Result<&ScaleRun, String> {
    if !check.ran {
        return Err(check.reason.clone().unwrap_or_else(|| "not run".into()));
    }
    let Some(strategy) = Strategy::of_transport(transport.name()) else {
        return Err(format!("no real-run strategy renders with {transport} workers"));
    };
    check
        .scale
        .as_ref()
        .and_then(|s| {
            s.runs.iter().find(|r| {
                r.workload == Workload::Render && r.strategy == strategy && r.workers == check.workers
            })
        })
        .ok_or_else(|| format!("{strategy} was not run"))
}

/// Why a run gave no speed-up: not available (its reason, e.g. the limit), or a worker failed
/// (naming the page).
fn no_speedup(run: &ScaleRun) -> String {
    if let Some(f) = run.failures.first() {
        return format!("worker failed: {}", f.what);
    }
    match &run.reason {
        Some(reason) if reason.starts_with("not run") => reason.clone(),
        Some(reason) => format!("strategy not available: {reason}"),
        None => "no speed-up measured".into(),
    }
}

/// Fresh workers against the warm baseline, from `transport`'s completed run: their rendering
/// together over the sequential baseline of the same pages, and the extra time per worker.
pub fn cold_start(check: Option<&Check>, transport: TransportKind) -> Option<Cold> {
    let check = check?;
    let run = run_of(check, transport).ok().filter(|r| r.speedup.is_some())?;
    let baseline = check
        .scale
        .as_ref()?
        .baselines
        .iter()
        .find(|b| b.workload == Workload::Render)?;
    let workers = run.workers.max(1) as f64;
    let rendering = run.render_seconds * workers;
    (baseline.seconds > 0.0).then(|| Cold {
        factor: rendering / baseline.seconds,
        extra_ns: (rendering - baseline.seconds).max(0.0) / workers * 1e9,
    })
}

/// Each row's measured speed-up (or the reason there is none) and the class it allows, said in
/// its `why` beside the prediction.
pub fn apply(rows: &mut [VerdictRow], check: &Check) {
    let noise = check.noise.unwrap_or(0.0);
    for row in rows.iter_mut() {
        let prediction = match (&row.prediction, row.predicted_speedup) {
            (Some(p), Some(s)) => super::predict::words(p, s),
            _ => "no prediction".to_string(),
        };
        let measured = match row.class {
            Class::Blocked => Err("not checked: the worker cannot import the renderer".to_string()),
            Class::Unknown => Err("not checked: no render cost to compare with".to_string()),
            _ if row.transfer_share.is_none() => Err("not checked: the payload does not ship".to_string()),
            _ => run_of(check, row.transport)
                .and_then(|r| r.speedup.map(|s| (r, s)).ok_or_else(|| no_speedup(r))),
        };
        match measured {
            Ok((run, speedup)) => {
                let strategy = run.strategy;
                row.measured_speedup = Some(speedup);
                row.checked_with = Some(strategy.ships().to_string());
                let by_run = measured_class(speedup, check.margin, noise);
                row.measured_class = Some(by_run);
                row.class = worse(row.class, by_run);
                let said = match by_run {
                    Class::Impractical => "slower than sequential in a real run",
                    Class::Marginal => "not faster than sequential beyond the margin in a real run",
                    _ => "a real run",
                };
                let for_sample = row
                    .predicted_check_speedup
                    .map_or(String::new(), |p| format!(", predicted {p:.2}× for those pages"));
                row.why.push_str(&format!(
                    "; {prediction}; {said}: {speedup:.2}× at W = {} ({} pages{for_sample}, {}; margin {:.0}%)",
                    run.workers,
                    run.pages,
                    strategy.ships(),
                    check.margin * 100.0
                ));
            }
            Err(reason) => {
                row.measured_reason = Some(reason.clone());
                if row.prediction.is_some() {
                    row.why.push_str(&format!(
                        "; prediction only: {prediction}; not checked by a real run ({reason})"
                    ));
                }
            }
        }
    }
}

/// The strategies that can check the rows, in the order they run: one per transport a row
/// that ships (and is neither blocked nor unclassified) goes through, where a strategy of that
/// name exists.
pub fn strategies(rows: &[VerdictRow]) -> Vec<Strategy> {
    Strategy::ALL
        .into_iter()
        .filter(|s| {
            rows.iter().any(|r| {
                r.transfer_share.is_some()
                    && !matches!(r.class, Class::Blocked | Class::Unknown)
                    && Strategy::of_transport(r.transport.name()) == Some(*s)
            })
        })
        .collect()
}

/// The check a finished real run makes: its render baseline's noise and the margin from it.
pub fn of_run(scale: Scale, workers: u32) -> Check {
    let noise = scale
        .baselines
        .iter()
        .find(|b| b.workload == Workload::Render)
        .and_then(|b| noise(b.first_seconds, b.last_seconds));
    Check {
        ran: true,
        reason: None,
        workers,
        noise,
        margin: margin(noise),
        scale: Some(scale),
    }
}

/// Each row's predicted speed-up (with the cold factor its strategy's real run measured), then
/// what the real run says of it, where there is a check.
pub fn settle(
    rows: &mut [VerdictRow],
    outcome: &Outcome,
    pages: usize,
    costs: &ItemCosts<'_>,
    gil_enabled: bool,
    check: Option<&Check>,
) {
    let sample = check.and_then(render_sample);
    super::predict::fill(
        rows,
        outcome,
        pages,
        costs,
        gil_enabled,
        |t| cold_start(check, t),
        sample,
    );
    if let Some(check) = check {
        apply(rows, check);
    }
    cap_by_prediction(rows, check.map_or(MARGIN_FLOOR, |c| c.margin));
}

/// The pages the real run rendered and its sequential baseline's time for them.
fn render_sample(check: &Check) -> Option<Sample> {
    let scale = check.scale.as_ref()?;
    let baseline = scale.baselines.iter().find(|b| b.workload == Workload::Render)?;
    Some(Sample {
        pages: baseline.pages,
        render_ns: baseline.seconds * 1e9,
    })
}

/// A row no real run checked is at most what its own prediction allows: a predicted speed-up
/// within the margin of 1 is `marginal`, below 1 `impractical`, whatever the share says (a
/// small transfer share does not make a strategy faster than sequential).
pub fn cap_by_prediction(rows: &mut [VerdictRow], margin: f64) {
    for row in rows.iter_mut().filter(|r| r.measured_speedup.is_none()) {
        let Some(predicted) = row.predicted_speedup else {
            continue;
        };
        let by_prediction = measured_class(predicted, margin, 0.0);
        if worse(row.class, by_prediction) != row.class {
            row.class = by_prediction;
            row.why.push_str(&format!(
                "; {} by its prediction alone ({predicted:.2}× at W = {}; margin {:.0}%)",
                by_prediction.word(),
                row.workers,
                margin * 100.0
            ));
        }
    }
}

/// The row a real run contradicts: its share or prediction said practical (or it predicted a
/// speed-up) while the run was slower than sequential.
pub fn contradicted(row: &VerdictRow) -> bool {
    row.measured_class == Some(Class::Impractical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_follows_the_measured_speed_up_against_the_margin_and_the_noise() {
        let m = margin(Some(0.03));
        assert_eq!(m, MARGIN_FLOOR, "a quiet baseline: the floor");
        assert_eq!(margin(Some(0.25)), 0.25, "a noisy baseline widens it");
        assert_eq!(measured_class(1.11, m, 0.03), Class::Practical);
        assert_eq!(measured_class(1.09, m, 0.03), Class::Marginal);
        assert_eq!(measured_class(0.98, m, 0.03), Class::Marginal, "within the noise");
        assert_eq!(measured_class(0.85, m, 0.03), Class::Impractical);
        assert!((noise(1.0, 1.2).unwrap() - 0.2 / 1.1).abs() < 1e-12);
        assert_eq!(noise(0.0, 0.0), None);
    }

    /// A check at W = 2 whose baseline took 1.0 s then 1.1 s, with a process run of `speedup`
    /// (rendering 0.6 s a worker) and a fork run whose worker failed on `posts/a.md`.
    fn check(speedup: f64) -> Check {
        let run = |strategy: &str, speedup: Option<f64>, failures: serde_json::Value| {
            serde_json::json!({
                "workload": "render", "strategy": strategy, "workers": 2, "available": true,
                "reason": null, "wall_seconds": 1.05 / speedup.unwrap_or(1.0),
                "sequential_seconds": 1.05, "speedup": speedup, "efficiency": null,
                "startup_seconds": 0.1, "ship_out_seconds": 0.01, "render_seconds": 0.6,
                "ship_back_seconds": 0.001, "payload_bytes": 1, "result_bytes": 1,
                "peak_memory_bytes": null, "memory_kind": null, "pages": 8, "failures": failures
            })
        };
        let failure = serde_json::json!([{"worker": 1, "pid": 7, "page_index": 3, "page": "posts/a.md",
            "what": "fork worker 1 (pid 7) was killed by SIGKILL while rendering page posts/a.md",
            "exit_status": -9, "signal": 9}]);
        let scale: Scale = serde_json::from_value(serde_json::json!({
            "sequential_seconds": 1.05, "workers": [2], "strategies": ["process", "fork"],
            "pages": 8, "page_keys": [], "workloads": [], "blocked": [], "gil_enabled": true,
            "free_threaded_note": null, "subinterpreter_fault_isolation": "",
            "baselines": [{"workload": "render", "first_seconds": 1.0, "last_seconds": 1.1,
                           "seconds": 1.05, "drift": 0.1, "result_bytes": 1, "pages": 8}],
            "runs": [run("process", Some(speedup), serde_json::json!([])),
                     run("fork", None, failure)]
        }))
        .unwrap();
        of_run(scale, 2)
    }

    fn row(transport: TransportKind, class: Class) -> VerdictRow {
        let mut v = crate::verdict::testdata::row(
            crate::model::PayloadKind::PageSubset,
            transport,
            Some(0.01),
            class,
        );
        v.workers = 2;
        v
    }

    #[test]
    fn a_real_run_slower_than_sequential_demotes_a_practical_row_and_says_so() {
        let c = check(0.85);
        let noise = 0.1 / 1.05;
        assert!((c.noise.unwrap() - noise).abs() < 1e-12);
        assert_eq!(c.margin, MARGIN_FLOOR);
        let mut rows = vec![
            row(TransportKind::Process, Class::Practical),
            row(TransportKind::Fork, Class::Practical),
            row(TransportKind::Subinterpreter, Class::Blocked),
        ];
        apply(&mut rows, &c);
        let process = &rows[0];
        assert_eq!(process.measured_speedup, Some(0.85));
        assert_eq!(process.measured_class, Some(Class::Impractical));
        assert_eq!(process.class, Class::Impractical);
        assert!(contradicted(process));
        assert!(
            process.why.ends_with(&format!(
                "slower than sequential in a real run: 0.85× at W = 2 (8 pages, {}; margin 10%)",
                Strategy::Process.ships()
            )),
            "{}",
            process.why
        );
        assert_eq!(process.checked_with.as_deref(), Some(Strategy::Process.ships()));
        // A failed worker: no speed-up, the page named, the share's class kept, prediction only.
        let fork = &rows[1];
        assert_eq!(fork.measured_speedup, None);
        assert_eq!(fork.class, Class::Practical);
        assert_eq!(
            fork.measured_reason.as_deref(),
            Some(
                "worker failed: fork worker 1 (pid 7) was killed by SIGKILL while rendering page posts/a.md"
            )
        );
        // A blocked row is never checked.
        assert_eq!(rows[2].class, Class::Blocked);
        assert_eq!(
            rows[2].measured_reason.as_deref(),
            Some("not checked: the worker cannot import the renderer")
        );
        // Faster than 1 + margin keeps it practical; inside the margin makes it marginal.
        for (speedup, class) in [(1.5, Class::Practical), (1.05, Class::Marginal)] {
            let mut rows = vec![row(TransportKind::Process, Class::Practical)];
            apply(&mut rows, &check(speedup));
            assert_eq!(rows[0].class, class, "{speedup}");
        }
        // The fresh workers rendered 2 x 0.6 s of the 1.05 s baseline's pages.
        let cold = cold_start(Some(&c), TransportKind::Process).unwrap();
        assert!((cold.factor - 1.2 / 1.05).abs() < 1e-12);
        assert!((cold.extra_ns - 0.15 / 2.0 * 1e9).abs() < 1e-3);
        assert_eq!(
            cold_start(Some(&c), TransportKind::Fork),
            None,
            "its worker failed"
        );
    }

    #[test]
    fn without_a_run_every_row_is_a_prediction_with_the_reason() {
        let skipped = Check {
            ran: false,
            reason: Some("skipped: --no-check".into()),
            workers: 2,
            noise: None,
            margin: margin(None),
            scale: None,
        };
        let mut rows = vec![row(TransportKind::Process, Class::Practical)];
        rows[0].predicted_speedup = Some(1.5);
        rows[0].prediction = Some(crate::verdict::predict::predict(
            &crate::verdict::predict::Parts {
                render_total_ns: 1e9,
                pages: 10,
                workers: 2,
                startup_ns: 0.0,
                site_data_ns: 0.0,
                out: Default::default(),
                out_items: 10.0,
                back: Default::default(),
                cold: None,
                serial_render: false,
            },
        ));
        apply(&mut rows, &skipped);
        assert_eq!(rows[0].measured_speedup, None);
        assert_eq!(rows[0].measured_reason.as_deref(), Some("skipped: --no-check"));
        assert_eq!(rows[0].class, Class::Practical);
        assert!(
            rows[0]
                .why
                .ends_with("; not checked by a real run (skipped: --no-check)"),
            "{}",
            rows[0].why
        );
        assert!(
            rows[0].why.contains("prediction only: predicted 1.50× at W = 2"),
            "{}",
            rows[0].why
        );
    }

    #[test]
    fn the_strategies_to_run_follow_the_rows_that_ship() {
        let rows = vec![
            row(TransportKind::Fork, Class::Practical),
            row(TransportKind::Subinterpreter, Class::Blocked),
            row(TransportKind::Process, Class::Impractical),
        ];
        assert_eq!(strategies(&rows), [Strategy::Process, Strategy::Fork]);
        for s in Strategy::ALL {
            assert_eq!(Strategy::of_transport(s.as_str()), Some(s));
        }
        assert_eq!(Strategy::of_transport("subinterpreter-legacy"), None);
    }

    #[test]
    fn a_row_no_real_run_checked_is_capped_by_its_own_prediction() {
        let mut rows = [
            row(TransportKind::Fork, Class::Practical),
            row(TransportKind::Process, Class::Practical),
            row(TransportKind::Forkserver, Class::Practical),
        ];
        for (r, p) in rows.iter_mut().zip([1.46, 1.05, 0.80]) {
            r.predicted_speedup = Some(p);
        }
        cap_by_prediction(&mut rows, MARGIN_FLOOR);
        let classes: Vec<Class> = rows.iter().map(|r| r.class).collect();
        assert_eq!(classes, [Class::Practical, Class::Marginal, Class::Impractical]);
        assert!(
            rows[1]
                .why
                .ends_with("; marginal by its prediction alone (1.05× at W = 2; margin 10%)"),
            "{}",
            rows[1].why
        );
        // A measured speed-up, not the prediction, settles a checked row.
        let mut checked = [row(TransportKind::Fork, Class::Practical)];
        checked[0].predicted_speedup = Some(0.5);
        checked[0].measured_speedup = Some(1.5);
        cap_by_prediction(&mut checked, MARGIN_FLOOR);
        assert_eq!(checked[0].class, Class::Practical);
    }

    #[test]
    fn a_measured_class_only_demotes() {
        assert_eq!(worse(Class::Practical, Class::Impractical), Class::Impractical);
        assert_eq!(worse(Class::Practical, Class::Marginal), Class::Marginal);
        assert_eq!(worse(Class::Impractical, Class::Practical), Class::Impractical);
        assert_eq!(worse(Class::Marginal, Class::Practical), Class::Marginal);
        assert_eq!(worse(Class::Blocked, Class::Practical), Class::Blocked);
    }
}
