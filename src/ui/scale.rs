//! `picklecost scale` on the terminal: one table per workload, the blocked import chains, the
//! answer, where the report is.
use crate::model::readiness;
use crate::model::scale::{Scale, ScaleRun};
use std::path::Path;

fn secs(v: Option<f64>) -> String {
    v.map_or("-".into(), |s| crate::units::nanos((s * 1e9).max(0.0) as u64))
}

fn row(r: &ScaleRun) -> [String; 10] {
    let status = if !r.available {
        format!("not available: {}", r.reason.as_deref().unwrap_or("?"))
    } else if let Some(d) = crate::verdict::scale::differing(r).filter(|_| r.failures.is_empty()) {
        d
    } else if !r.failures.is_empty() {
        format!(
            "FAILED: {}",
            r.failures
                .iter()
                .map(|f| f.what.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    } else {
        String::new()
    };
    let measured = r.available && r.wall_seconds.is_some();
    let part = |v: f64| if measured { secs(Some(v)) } else { "-".into() };
    [
        r.strategy_label(),
        r.workers.to_string(),
        secs(r.wall_seconds.filter(|_| measured)),
        r.speedup.map_or("-".into(), |s| format!("{s:.2}×")),
        crate::verdict::scale::predicted(r, "-"),
        r.efficiency.map_or("-".into(), |e| format!("{:.0}%", e * 100.0)),
        format!("{}/{}", part(r.startup_seconds), part(r.ship_out_seconds)),
        format!("{}/{}", part(r.render_seconds), part(r.ship_back_seconds)),
        r.peak_memory_bytes.map_or("-".into(), crate::units::bytes),
        status,
    ]
}

pub fn table(scale: &Scale) -> String {
    let mut s = String::new();
    for baseline in &scale.baselines {
        s.push_str(&format!(
            "{}: sequential {} for {} pages (first {}, last {}, drift {})\n",
            baseline.workload,
            secs(Some(baseline.seconds)),
            baseline.pages,
            secs(Some(baseline.first_seconds)),
            secs(Some(baseline.last_seconds)),
            baseline
                .drift
                .map_or("-".into(), |d| format!("{:+.0}%", d * 100.0)),
        ));
        let header = [
            "strategy",
            "W",
            "wall",
            "speed-up",
            "predicted (error)",
            "effic.",
            "start/out",
            "render/back",
            "memory",
            "",
        ]
        .map(String::from);
        let rows: Vec<[String; 10]> = std::iter::once(header)
            .chain(
                scale
                    .runs
                    .iter()
                    .filter(|r| r.workload == baseline.workload)
                    .map(row),
            )
            .collect();
        let w: Vec<usize> = (0..9)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let mut line = format!("  {:<w0$}", r[0], w0 = w[0]);
            for c in 1..9 {
                line.push_str(&format!("  {:>width$}", r[c], width = w[c]));
            }
            s.push_str(&format!("{line}  {}\n", r[9]));
        }
        let outside: Vec<String> = scale
            .single_worker
            .iter()
            .filter(|c| c.workload == baseline.workload && !c.within_noise)
            .map(|c| format!("{} renders at {:.2}× the baseline", c.strategy, c.render_ratio))
            .collect();
        if !outside.is_empty() {
            s.push_str(&format!(
                "  ! W = 1 outside the baselines' noise: {}\n",
                outside.join(", ")
            ));
        }
        s.push('\n');
    }
    for w in scale.workloads.iter().filter(|w| !w.available) {
        s.push_str(&format!(
            "{}: not available: {}\n",
            w.name,
            w.reason.as_deref().unwrap_or("?")
        ));
    }
    s.push_str(&what_if_lines(scale));
    let rows = readiness::scale_rows(&scale.blocked);
    if !rows.is_empty() {
        s.push_str(&format!(
            "sub-interpreter readiness (every blocker, each stubbed in turn; {}):\n",
            crate::verdict::scale::stubbed_where(scale)
        ));
        s.push_str(&readiness::terminal_lines(&rows, "  "));
    }
    let mut hints: Vec<&str> = Vec::new();
    for b in &scale.blocked {
        s.push_str(&format!(
            "blocked in an isolated sub-interpreter: {} ({})\n",
            b.chain.join(" → "),
            b.error
        ));
        if !hints.contains(&b.hint.as_str()) {
            hints.push(&b.hint);
        }
    }
    for hint in hints {
        s.push_str(&format!("  hint: {hint}\n"));
    }
    s
}

/// The what-if's stubs, what the code asked of them in each run, and its pages against the
/// main interpreter's.
fn what_if_lines(scale: &Scale) -> String {
    let mut s = String::new();
    if scale.what_if.is_empty() {
        return s;
    }
    let tag = crate::model::scale::what_if_tag(&scale.what_if);
    for r in scale.runs.iter().filter(|r| !r.what_if.is_empty() && r.available) {
        s.push_str(&format!(
            "{}: stub uses (imports and pages, all workers): {}\n",
            r.label(),
            r.stub_uses_words()
        ));
    }
    if let Some(e) = &scale.equivalence {
        s.push_str(&format!(
            "pages rendered{tag} against the main interpreter's: {} of {} identical\n",
            e.identical, e.pages
        ));
        for d in &e.different {
            s.push_str(&format!(
                "  {} differs at line {}: main {:?}, what-if {:?}{}\n",
                d.page,
                d.line,
                d.main,
                d.what_if,
                if d.main_varies {
                    " (its two main-interpreter renders differ from each other too)"
                } else {
                    ""
                }
            ));
        }
    }
    s
}

/// The tables, the answer, how this Python's `ProcessPoolExecutor()` starts workers
/// (`start_method`, as results.json's `python` records it), the limits, where the report is.
pub fn print(scale: &Scale, start_method: Option<&str>, out: &Path) {
    println!("{}", table(scale));
    println!("{}\n", scale.answer);
    if let Some(line) = scale.start_method_line(start_method) {
        println!("{line}\n");
    }
    let cut = scale.limit.as_ref().is_some_and(|l| l.cut);
    let held = scale.worker_memory.as_ref().is_some_and(|w| w.limited());
    if cut || held {
        for line in crate::verdict::scale::limits(scale) {
            println!("  ! {line}");
        }
    }
    println!("report: {}", out.display());
}
