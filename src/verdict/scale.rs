//! `picklecost scale`: the one-sentence answer, from the measured runs only.
use crate::model::scale::{Scale, ScaleRun, SingleWorkerCheck, Strategy, Workload};

/// The smallest run-to-run noise a W = 1 check allows, however close the two baselines were.
pub const MIN_NOISE: f64 = 0.05;

/// Each strategy's W = 1 run that completed, against its workload's sequential baseline.
pub fn single_worker(scale: &Scale) -> Vec<SingleWorkerCheck> {
    scale
        .runs
        .iter()
        .filter(|r| r.workers == 1 && r.speedup.is_some())
        .filter_map(|r| {
            let b = scale.baselines.iter().find(|b| b.workload == r.workload)?;
            let (wall, base) = (r.wall_seconds?, r.sequential_seconds?);
            if base <= 0.0 {
                return None;
            }
            let low = b.first_seconds.min(b.last_seconds);
            let noise = if low > 0.0 {
                ((b.first_seconds - b.last_seconds).abs() / low).max(MIN_NOISE)
            } else {
                MIN_NOISE
            };
            let render_ratio = r.render_seconds / base;
            Some(SingleWorkerCheck {
                workload: r.workload,
                strategy: r.strategy,
                wall_ratio: wall / base,
                render_ratio,
                noise,
                within_noise: (render_ratio - 1.0).abs() <= noise,
            })
        })
        .collect()
}

/// Each run's predicted speed-up, from its strategy's W = 1 run and the workload's baseline:
/// one worker's start-up and payload out (the whole site for `render`, a W-th of the sources for
/// `markdown`), its cold start (the W = 1 rendering beyond the baseline's, once per worker),
/// then a W-th of the baseline's rendering and of the results back. Threads under the GIL render
/// one at a time. Where the run measured a speed-up, `prediction_error` = predicted / measured
/// - 1.
pub fn predictions(scale: &mut Scale) {
    let predicted: Vec<Option<f64>> = scale.runs.iter().map(|r| predicted_speedup(scale, r)).collect();
    for (run, p) in scale.runs.iter_mut().zip(predicted) {
        run.predicted_speedup = p;
        run.prediction_error = p
            .zip(run.speedup)
            .filter(|(_, m)| *m > 0.0)
            .map(|(p, m)| p / m - 1.0);
    }
}

/// "1.62× (+12%)": a run's predicted speed-up and its error against the measured one (`none`
/// where there is no prediction).
pub fn predicted(r: &ScaleRun, none: &str) -> String {
    match (r.predicted_speedup, r.prediction_error) {
        (Some(p), Some(e)) => format!("{p:.2}× ({:+.0}%)", e * 100.0),
        (Some(p), None) => format!("{p:.2}×"),
        _ => none.to_string(),
    }
}

fn predicted_speedup(scale: &Scale, run: &ScaleRun) -> Option<f64> {
    if !run.available {
        return None;
    }
    let one = scale.runs.iter().find(|r| {
        r.workload == run.workload && r.strategy == run.strategy && r.workers == 1 && r.speedup.is_some()
    })?;
    let base = scale
        .baselines
        .iter()
        .find(|b| b.workload == run.workload)?
        .seconds;
    let serial = run.strategy == Strategy::Thread && scale.gil_enabled;
    let lanes = if serial { 1.0 } else { run.workers.max(1) as f64 };
    let out = match run.workload {
        Workload::Render => one.ship_out_seconds,
        Workload::Markdown => one.ship_out_seconds / lanes,
    };
    let cold = (one.render_seconds - base).max(0.0);
    let wall = one.startup_seconds + out + cold + (base + one.ship_back_seconds) / lanes;
    (base > 0.0 && wall > 0.0).then(|| base / wall)
}

/// Below this speed-up a parallel run is taken not to scale at all.
pub const SCALES_AT_ALL: f64 = 1.1;

/// The best run of `workload` per strategy (highest speed-up), in the order strategies ran.
pub fn best_per_strategy<'a>(
    scale: &'a Scale,
    workload: &str,
) -> Vec<(&'a str, Option<&'a ScaleRun>, Option<&'a ScaleRun>)> {
    scale
        .strategies
        .iter()
        .map(|strategy| {
            let runs: Vec<&ScaleRun> = scale
                .runs
                .iter()
                .filter(|r| r.workload == workload && &r.strategy == strategy)
                .collect();
            let best = runs
                .iter()
                .filter(|r| r.speedup.is_some())
                .max_by(|a, b| {
                    a.speedup
                        .partial_cmp(&b.speedup)
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .copied();
            (strategy.as_str(), best, runs.first().copied())
        })
        .collect()
}

fn why_not(run: Option<&ScaleRun>) -> String {
    match run {
        Some(r) if !r.available => {
            let reason = r.reason.clone().unwrap_or_else(|| "not available".into());
            // An import chain: name only where it ends.
            match reason.split(" → ").last() {
                Some(tail) if reason.contains(" → ") => {
                    format!(
                        "its import chain ends in {}",
                        tail.split_whitespace().next().unwrap_or(tail)
                    )
                }
                _ => reason,
            }
        }
        Some(r) if !r.failures.is_empty() => r.failures[0].what.clone(),
        _ => "no run".into(),
    }
}

/// "Rendering 6 pages of this site on this machine (2 CPUs) scales best with fork: 1.8× at W=2
/// (efficiency 90%); thread 1.0×, subinterpreter not available (...), process 1.6×."
pub fn answer(scale: &Scale, cpus: usize) -> String {
    let workload = if scale
        .runs
        .iter()
        .any(|r| r.workload == "render" && r.speedup.is_some())
    {
        "render"
    } else {
        "markdown"
    };
    let what = if workload == "render" {
        "Rendering"
    } else {
        "The Markdown step of"
    };
    let best = best_per_strategy(scale, workload);
    let winner = best
        .iter()
        .filter_map(|(s, b, _)| b.map(|b| (*s, b)))
        .max_by(|a, b| {
            a.1.speedup
                .partial_cmp(&b.1.speedup)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let others: Vec<String> = best
        .iter()
        .filter(|(s, _, _)| winner.is_none_or(|w| w.0 != *s))
        .map(|(s, b, first)| match b {
            Some(b) => format!(
                "{} {:.2}× at W={}{}",
                b.strategy_label(),
                b.speedup.unwrap_or(0.0),
                b.workers,
                differing(b).map_or(String::new(), |d| format!(" ({d})"))
            ),
            None => format!("{s} not measured ({})", why_not(*first)),
        })
        .collect();
    let rest = if others.is_empty() {
        String::new()
    } else {
        format!("; {}", others.join(", "))
    };
    let free = if scale.gil_enabled {
        ""
    } else {
        " [free-threaded build: untested here]"
    };
    let sub = subinterpreters(scale, workload).map_or(String::new(), |s| format!(" {s}"));
    match winner {
        Some((_, b)) if b.speedup.unwrap_or(0.0) >= SCALES_AT_ALL => format!(
            "{what} {} pages of this site on this machine ({cpus} CPUs) scales best with {}: {:.2}× at W={} (efficiency {:.0}%{}{}){rest}.{free}{sub}",
            scale.pages,
            b.strategy_label(),
            b.speedup.unwrap_or(0.0),
            b.workers,
            b.efficiency.unwrap_or(0.0) * 100.0,
            b.predicted_speedup
                .map_or(String::new(), |p| format!("; predicted {p:.2}×")),
            differing(b).map_or(String::new(), |d| format!("; {d}"))
        ),
        Some((_, b)) => format!(
            "{what} {} pages of this site on this machine ({cpus} CPUs) does not scale: the best is {} at {:.2}× with W={}{rest}.{free}{sub}",
            scale.pages,
            b.strategy_label(),
            b.speedup.unwrap_or(0.0),
            b.workers
        ),
        None => format!(
            "{what} {} pages of this site could not be measured in parallel on this machine{rest}.{free}",
            scale.pages
        ),
    }
}

/// A what-if run's pages against the main interpreter's: "what-if: 1 of 4 pages differ from
/// the main interpreter's" (None for a real run, or one whose pages were not compared).
pub fn differing(r: &ScaleRun) -> Option<String> {
    if r.what_if.is_empty() {
        return None;
    }
    Some(match r.different_pages? {
        0 => format!(
            "what-if: all {} pages identical to the main interpreter's",
            r.pages
        ),
        n => format!(
            "what-if: {n} of {} pages differ from the main interpreter's",
            r.pages
        ),
    })
}

/// Where the runs had stubs: "nothing stubbed in the runs", or only in the what-if's rows.
pub fn stubbed_where(scale: &Scale) -> String {
    if scale.what_if.is_empty() {
        "nothing stubbed in the runs".into()
    } else {
        format!(
            "stubbed only in the rows marked{}",
            crate::model::scale::what_if_tag(&scale.what_if)
        )
    }
}

/// The study's question for this site: sub-interpreters against threads, processes and fork at
/// each W, with what it took (the stubs, what the code asked of them) and whether the pages
/// stayed the same; or, without a what-if, every module that keeps them out.
fn subinterpreters(scale: &Scale, workload: &str) -> Option<String> {
    if scale.what_if.is_empty() || workload != "render" {
        let modules = refusing_modules(scale);
        return (!modules.is_empty()).then(|| {
            format!(
                "Sub-interpreters: {} module(s) refuse them ({}; every blocker in the readiness table); `--what-if stubs` measures them with those stubbed.",
                modules.len(),
                modules.join(", ")
            )
        });
    }
    let at_each_w = |strategy: Strategy| -> Option<String> {
        let runs: Vec<String> = scale
            .runs
            .iter()
            .filter(|r| r.workload == Workload::Render && r.strategy == strategy)
            .filter_map(|r| r.speedup.map(|s| format!("{s:.2}× at W={}", r.workers)))
            .collect();
        (!runs.is_empty()).then(|| runs.join(", "))
    };
    let reload = if scale.runs.iter().any(|r| r.reload) {
        " (each worker loads the site)"
    } else {
        ""
    };
    let tag = format!("{}{reload}", crate::model::scale::what_if_tag(&scale.what_if));
    let sub = at_each_w(Strategy::Subinterpreter).unwrap_or_else(|| "not measured".into());
    let beside: Vec<String> = [
        Strategy::InterpreterPool,
        Strategy::Thread,
        Strategy::Process,
        Strategy::Forkserver,
        Strategy::Fork,
    ]
    .into_iter()
    .filter_map(|s| {
        // The pool's workers are sub-interpreters too: stubbed the same, labelled the same.
        let label = match s {
            Strategy::InterpreterPool => format!("{s}{tag}"),
            _ => s.to_string(),
        };
        at_each_w(s).map(|w| format!("{label} {w}"))
    })
    .collect();
    Some(format!(
        "Sub-interpreters{tag}: {sub}{}; it took {}{}.",
        if beside.is_empty() {
            String::new()
        } else {
            format!(", beside {}", beside.join("; "))
        },
        took(scale),
        scale.equivalence.as_ref().map_or(String::new(), |e| format!(
            ", and {} of {} pages came out identical to the main interpreter's{}",
            e.identical,
            e.pages,
            e.different.first().map_or(String::new(), |d| format!(
                " ({} differ{}, first {} at line {})",
                e.different.len(),
                if e.different.len() == 1 { "s" } else { "" },
                d.page,
                d.line
            ))
        ))
    ))
}

/// The render modules' refusing modules, each once, in the order found.
fn refusing_modules(scale: &Scale) -> Vec<String> {
    let mut modules: Vec<String> = Vec::new();
    for b in scale
        .blocked
        .iter()
        .filter(|b| b.workload != Some(Workload::Markdown))
    {
        let found: Vec<&String> = if b.beyond.blockers.is_empty() {
            b.chain.last().into_iter().collect()
        } else {
            b.beyond.blockers.iter().map(|x| &x.module).collect()
        };
        for m in found {
            if !modules.contains(m) {
                modules.push(m.clone());
            }
        }
    }
    modules
}

/// "2 stubs (tracemalloc, other; what the code asked of them at W = 1, imports and 4 pages:
/// other.flavour read 1×, called 1×, ...)".
fn took(scale: &Scale) -> String {
    let n = scale.what_if.len();
    let uses = scale
        .runs
        .iter()
        .filter(|r| {
            matches!(r.strategy, Strategy::Subinterpreter | Strategy::InterpreterPool)
                && !r.what_if.is_empty()
                && r.speedup.is_some()
        })
        .min_by_key(|r| r.workers)
        .map(|r| {
            let words: Vec<String> = r.stub_uses.iter().map(|u| u.words()).collect();
            format!(
                "; what the code asked of them at W = {}, imports and {} pages: {}",
                r.workers,
                r.pages,
                if words.is_empty() {
                    "nothing".into()
                } else {
                    words.join(", ")
                }
            )
        })
        .unwrap_or_default();
    format!(
        "{n} stub{} ({}{uses})",
        if n == 1 { "" } else { "s" },
        scale.what_if.join(", ")
    )
}

/// The experiment against its time limit, and the render workers the memory let run.
pub fn limits(scale: &Scale) -> Vec<String> {
    let mut lines: Vec<String> = scale
        .limit
        .iter()
        .map(|l| format!("Time limit, {}.", l.sentence()))
        .collect();
    if let Some(w) = &scale.worker_memory {
        let held = if w.limited() {
            "sub-interpreter and process render runs with more workers were not run"
        } else {
            "no run held back"
        };
        lines.push(format!(
            "Render workers holding a copy of the site (sub-interpreters, processes): {} \
             (each taken to need the loaded site's size); {held}.",
            w.sentence()
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(strategy: &str, workers: u32, speedup: Option<f64>) -> serde_json::Value {
        serde_json::json!({
            "workload": "render", "strategy": strategy, "workers": workers, "available": true,
            "reason": null, "wall_seconds": speedup.map(|s| 1.0 / s), "sequential_seconds": 1.0,
            "speedup": speedup, "efficiency": null, "startup_seconds": 0.1,
            "ship_out_seconds": 0.05, "render_seconds": 1.2, "ship_back_seconds": 0.02,
            "payload_bytes": 1, "result_bytes": 1, "peak_memory_bytes": null,
            "memory_kind": null, "pages": 8, "failures": []
        })
    }

    fn scale(gil: bool) -> Scale {
        serde_json::from_value(serde_json::json!({
            "sequential_seconds": 1.0, "workers": [1, 4], "strategies": ["thread", "process"],
            "pages": 8, "page_keys": [], "workloads": [], "blocked": [], "gil_enabled": gil,
            "free_threaded_note": null, "subinterpreter_fault_isolation": "",
            "baselines": [{"workload": "render", "first_seconds": 1.0, "last_seconds": 1.0,
                           "seconds": 1.0, "drift": 0.0, "result_bytes": 1, "pages": 8}],
            "runs": [run("process", 1, Some(0.7)), run("process", 4, Some(2.0)),
                     run("thread", 1, Some(0.9)), run("thread", 4, Some(0.8))]
        }))
        .unwrap()
    }

    #[test]
    fn a_run_is_predicted_from_its_strategys_single_worker_parts() {
        let mut s = scale(true);
        predictions(&mut s);
        // W = 4: start-up 0.1 + payload out 0.05 + cold start 0.2 once, then (1.0 + 0.02) / 4.
        let wall = 0.1 + 0.05 + 0.2 + 1.02 / 4.0;
        let p = s.runs[1].predicted_speedup.unwrap();
        assert!((p - 1.0 / wall).abs() < 1e-12, "{p}");
        assert!((s.runs[1].prediction_error.unwrap() - (p / 2.0 - 1.0)).abs() < 1e-12);
        assert_eq!(
            predicted(&s.runs[1], "-"),
            format!("{p:.2}× ({:+.0}%)", (p / 2.0 - 1.0) * 100.0)
        );
        // Threads under the GIL render one at a time: never above 1, whatever W.
        assert!(s.runs[3].predicted_speedup.unwrap() <= 1.0);
        // A free-threaded build would let them share the rendering.
        let mut free = scale(false);
        predictions(&mut free);
        assert!(free.runs[3].predicted_speedup.unwrap() > 1.0);
        // Without a W = 1 run there is nothing to predict from.
        let mut alone = scale(true);
        alone.runs.retain(|r| r.workers != 1);
        predictions(&mut alone);
        assert!(alone.runs.iter().all(|r| r.predicted_speedup.is_none()));
        assert_eq!(predicted(&alone.runs[0], "–"), "–");
    }

    #[test]
    fn the_answer_sets_the_what_if_beside_the_real_strategies_and_says_what_it_took() {
        let mut s = scale(true);
        s.strategies.push(Strategy::Subinterpreter);
        for (w, speedup, differ) in [(1, 0.8, 0), (4, 1.9, 1)] {
            let mut r: ScaleRun = serde_json::from_value(run("subinterpreter", w, Some(speedup))).unwrap();
            r.what_if = vec!["tracemalloc".into()];
            r.different_pages = Some(differ);
            r.stub_uses = vec![crate::model::readiness::StubUse {
                name: "tracemalloc.is_tracing".into(),
                gets: 2,
                calls: 2,
            }];
            s.runs.push(r);
        }
        s.what_if = vec!["tracemalloc".into()];
        s.equivalence = serde_json::from_value(serde_json::json!({
            "pages": 8, "identical": 7,
            "different": [{"page": "a.md", "line": 3, "main": "x", "what_if": "y"}]
        }))
        .unwrap();
        let a = answer(&s, 4);
        assert!(
            a.contains("scales best with process: 2.00× at W=4 (efficiency 0%); thread 0.90× at W=1, subinterpreter (what-if: tracemalloc stubbed) 1.90× at W=4 (what-if: 1 of 8 pages differ from the main interpreter's)."),
            "{a}"
        );
        assert!(
            a.ends_with(
                "Sub-interpreters (what-if: tracemalloc stubbed): 0.80× at W=1, 1.90× at W=4, beside thread 0.90× at W=1, 0.80× at W=4; process 0.70× at W=1, 2.00× at W=4; it took 1 stub (tracemalloc; what the code asked of them at W = 1, imports and 8 pages: tracemalloc.is_tracing (read 2×, called 2×)), and 7 of 8 pages came out identical to the main interpreter's (1 differs, first a.md at line 3)."
            ),
            "{a}"
        );
        // Without the what-if, no sentence about sub-interpreters unless a module refuses them.
        assert!(!answer(&scale(true), 4).contains("Sub-interpreters"));
    }
}
