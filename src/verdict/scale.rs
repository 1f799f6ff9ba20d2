//! `picklecost scale`: the one-sentence answer, from the measured runs only.
use crate::model::scale::{Scale, ScaleRun, SingleWorkerCheck};

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
            Some(b) => format!("{s} {:.2}× at W={}", b.speedup.unwrap_or(0.0), b.workers),
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
    match winner {
        Some((s, b)) if b.speedup.unwrap_or(0.0) >= SCALES_AT_ALL => format!(
            "{what} {} pages of this site on this machine ({cpus} CPUs) scales best with {s}: {:.2}× at W={} (efficiency {:.0}%){rest}.{free}",
            scale.pages,
            b.speedup.unwrap_or(0.0),
            b.workers,
            b.efficiency.unwrap_or(0.0) * 100.0
        ),
        Some((s, b)) => format!(
            "{what} {} pages of this site on this machine ({cpus} CPUs) does not scale: the best is {s} at {:.2}× with W={}{rest}.{free}",
            scale.pages,
            b.speedup.unwrap_or(0.0),
            b.workers
        ),
        None => format!(
            "{what} {} pages of this site could not be measured in parallel on this machine{rest}.{free}",
            scale.pages
        ),
    }
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
