//! `picklecost scale`'s report: results.json (with the `scale` object), report.md and the
//! charts, as files for `OutDir::write_files`.
use super::ReportFile;
use super::charts::{self, SpeedupSeries, TIME_PARTS, TimeBar};
use crate::model::scale::{Scale, ScaleRun, SingleWorkerCheck, WorkloadInfo};
use anyhow::Result;
use serde::Serialize;

/// results.json of `picklecost scale`.
#[derive(Serialize)]
pub struct ScaleResults {
    pub tool: serde_json::Value,
    pub command_line: String,
    pub site: serde_json::Value,
    pub python: serde_json::Value,
    pub scale: Scale,
    pub timing: serde_json::Value,
}

pub fn files(results: &ScaleResults) -> Result<Vec<ReportFile>> {
    let mut files = Vec::new();
    let mut text = serde_json::to_string_pretty(results)?;
    text.push('\n');
    files.push(ReportFile::new("results.json", text));
    let scale = &results.scale;
    let mut charts_md = Vec::new();
    for workload in scale.workloads.iter().filter(|w| w.available) {
        let runs: Vec<_> = scale
            .runs
            .iter()
            .filter(|r| r.workload == workload.name)
            .collect();
        // A strategy's line carries its what-if, where its runs had one.
        let labels: Vec<String> = scale
            .strategies
            .iter()
            .map(|s| {
                runs.iter()
                    .find(|r| &r.strategy == s && !r.what_if.is_empty())
                    .map_or_else(|| s.to_string(), |r| r.strategy_label())
            })
            .collect();
        let series: Vec<SpeedupSeries> = scale
            .strategies
            .iter()
            .zip(&labels)
            .map(|(s, label)| SpeedupSeries {
                label,
                points: runs
                    .iter()
                    .filter(|r| &r.strategy == s)
                    .filter_map(|r| r.speedup.map(|v| (r.workers, v)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        let max_w = scale.workers.iter().copied().max().unwrap_or(1);
        let name = format!("charts/scale-speedup-{}.svg", workload.name);
        files.push(ReportFile::new(
            name.clone(),
            charts::scale_speedup(
                &format!("Does {} scale? speed-up vs workers", workload.name),
                &series,
                max_w,
            )?,
        ));
        charts_md.push(format!("![speed-up, {}]({name})", workload.name));
        let shown: Vec<(&&ScaleRun, String)> = runs
            .iter()
            .filter(|r| {
                r.workers == max_w && r.available && r.wall_seconds.is_some() && r.failures.is_empty()
            })
            .map(|r| (r, r.strategy_label()))
            .collect();
        let bars: Vec<TimeBar> = shown
            .iter()
            .map(|(r, label)| TimeBar {
                label,
                parts: [
                    r.startup_seconds,
                    r.ship_out_seconds,
                    r.render_seconds,
                    r.ship_back_seconds,
                ],
            })
            .collect();
        let name = format!("charts/scale-time-{}.svg", workload.name);
        files.push(ReportFile::new(
            name.clone(),
            charts::scale_time(
                &format!("Where the time goes at W={max_w} ({})", workload.name),
                &bars,
            )?,
        ));
        charts_md.push(format!("![where the time goes, {}]({name})", workload.name));
    }
    files.push(ReportFile::new("report.md", markdown(results, &charts_md)));
    Ok(files)
}

fn secs(v: Option<f64>) -> String {
    v.map_or("–".into(), |s| crate::units::nanos((s * 1e9).max(0.0) as u64))
}

/// report.md of `picklecost scale`: the answer, one section per workload, what a
/// sub-interpreter refuses, the charts and the method.
fn markdown(results: &ScaleResults, charts_md: &[String]) -> String {
    let scale = &results.scale;
    let mut md = String::new();
    heading(&mut md, results);
    for workload in &scale.workloads {
        workload_section(&mut md, scale, workload);
    }
    blocked(&mut md, scale);
    what_if(&mut md, scale);
    md.push_str("## Charts\n\n");
    for c in charts_md {
        md.push_str(&format!("{c}\n\n"));
    }
    md.push_str(&format!(
        "## Method\n\nEvery run renders the same pages, split round-robin over W workers. \
         Times per worker are means over workers: start-up ({}), payload out (pickled here, sent, \
         unpickled in the worker; one monotonic clock across processes), rendering, results back \
         (the rendered HTML pickled in the worker, sent, unpickled here). `thread` shares the \
         objects; `process` workers are spawned and `forkserver` ones forked by multiprocessing's \
         forkserver (started with the run's first worker, inside its start-up and the wall time, \
         before the site existed there): both get the site pickled; `fork` children share the \
         loaded pages copy-on-write and only pickle results back; their memory is the Private_Dirty of /proc/PID/smaps_rollup (what each child \
         dirtied), a spawned or forkserver process's is its VmHWM. The sequential baseline runs before and \
         after the parallel runs (the drift between them is shown); speed-up = baseline / wall, \
         efficiency = speed-up / W. The predicted speed-up at each W comes from the strategy's W = 1 run \
         (one worker's start-up and payload out, its rendering beyond the baseline's as a one-time \
         cold start, then a W-th of the baseline's rendering and of the results back; threads \
         under the GIL render one at a time); its error is predicted / measured − 1. A worker that dies is reported with the page it was rendering \
         and its exit status; {}\n\nCommand: `{}`\n",
        TIME_PARTS[0], scale.subinterpreter_fault_isolation, results.command_line
    ));
    md
}

fn heading(md: &mut String, results: &ScaleResults) {
    let scale = &results.scale;
    md.push_str("# Does rendering scale?\n\n");
    md.push_str(&format!("**{}**\n\n", scale.answer));
    md.push_str(&format!(
        "Site `{}` ({} {}, stage {}), Python {} on {} ({} CPUs). {} pages rendered by every run.\n\n",
        results.site["path"].as_str().unwrap_or("?"),
        results.site["generator"].as_str().unwrap_or("?"),
        results.site["generator_version"].as_str().unwrap_or("?"),
        results.site["stage"].as_str().unwrap_or("?"),
        results.python["version"].as_str().unwrap_or("?"),
        results.python["cpu"].as_str().unwrap_or("?"),
        results.python["cpu_count"],
        scale.pages,
    ));
    if let Some(line) = scale.start_method_line(results.python["default_start_method"].as_str()) {
        md.push_str(&format!("{line}\n\n"));
    }
    if let Some(note) = &scale.free_threaded_note {
        md.push_str(&format!("> {note}\n\n"));
    }
    for line in crate::verdict::scale::limits(scale) {
        md.push_str(&format!("> {line}\n\n"));
    }
}

/// One workload: why it is unavailable, or its method, baseline, runs table and W = 1 check.
fn workload_section(md: &mut String, scale: &Scale, workload: &WorkloadInfo) {
    md.push_str(&format!("## Workload `{}`\n\n", workload.name));
    if !workload.available {
        md.push_str(&format!(
            "Not available: {}\n\n",
            workload.reason.as_deref().unwrap_or("?")
        ));
        return;
    }
    if let Some(method) = &workload.method {
        md.push_str(&format!("{method}.\n\n"));
    }
    if let Some(b) = scale.baselines.iter().find(|b| b.workload == workload.name) {
        md.push_str(&format!(
            "Sequential baseline: {} (first {}, last {}; drift {}), {} of output.\n\n",
            secs(Some(b.seconds)),
            secs(Some(b.first_seconds)),
            secs(Some(b.last_seconds)),
            b.drift.map_or("–".into(), |d| format!("{:+.1}%", d * 100.0)),
            crate::units::bytes(b.result_bytes)
        ));
    }
    md.push_str("| strategy | W | wall | speed-up | predicted (error) | efficiency | start-up | payload out | rendering | results back | payload | results | peak memory | note |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in scale.runs.iter().filter(|r| r.workload == workload.name) {
        md.push_str(&run_row(r));
    }
    md.push('\n');
    single_worker(md, scale, workload);
}

fn run_row(r: &ScaleRun) -> String {
    let measured = r.available && r.wall_seconds.is_some();
    let part = |v: f64| if measured { secs(Some(v)) } else { "–".into() };
    let size = |b: u64| {
        if measured {
            crate::units::bytes(b)
        } else {
            "–".into()
        }
    };
    let note = if !r.available {
        format!("not available: {}", r.reason.as_deref().unwrap_or("?"))
    } else {
        r.failures
            .iter()
            .map(|f| f.what.clone())
            .chain(crate::verdict::scale::differing(r))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        r.strategy_label(),
        r.workers,
        secs(r.wall_seconds.filter(|_| measured)),
        r.speedup.map_or("–".into(), |s| format!("{s:.2}×")),
        crate::verdict::scale::predicted(r, "–"),
        r.efficiency.map_or("–".into(), |e| format!("{:.0}%", e * 100.0)),
        part(r.startup_seconds),
        part(r.ship_out_seconds),
        part(r.render_seconds),
        part(r.ship_back_seconds),
        size(r.payload_bytes),
        size(r.result_bytes),
        r.peak_memory_bytes.map_or("–".into(), |m| format!(
            "{} ({})",
            crate::units::bytes(m),
            r.memory_kind.as_deref().unwrap_or("")
        )),
        note.replace('|', "\\|"),
    )
}

/// W = 1 against the sequential baseline, per strategy.
fn single_worker(md: &mut String, scale: &Scale, workload: &WorkloadInfo) {
    let checks: Vec<&SingleWorkerCheck> = scale
        .single_worker
        .iter()
        .filter(|c| c.workload == workload.name)
        .collect();
    let Some(first) = checks.first() else { return };
    let described: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "{} {:.2}× the baseline (rendering alone {:.2}×{})",
                c.strategy,
                c.wall_ratio,
                c.render_ratio,
                if c.within_noise {
                    ""
                } else {
                    ", **outside the noise**"
                }
            )
        })
        .collect();
    md.push_str(&format!(
        "W = 1 against the sequential baseline (one worker should render as fast as the main interpreter; noise = the two baseline timings' spread, ±{:.0}%): {}.\n\n",
        first.noise * 100.0,
        described.join(", ")
    ));
}

/// The import chains an isolated sub-interpreter refused, with hints.
fn blocked(md: &mut String, scale: &Scale) {
    if scale.blocked.is_empty() {
        return;
    }
    md.push_str("## What an isolated sub-interpreter refuses\n\n");
    for b in &scale.blocked {
        md.push_str(&format!(
            "- `{}` ({}): {}\n  - hint: {}\n",
            b.chain.join(" → "),
            b.workload.map_or("", |w| w.as_str()),
            b.error,
            b.hint
        ));
    }
    md.push_str("\nEvery blocker: each module imported in a fresh isolated sub-interpreter; on a refusal the refusing module (for a private extension, the public module that imports it) is replaced by a recording stub and the import tried again, until it loads (or 10 stubs). Stub uses: what the code read and called on the stubs while importing. ");
    md.push_str(&crate::verdict::scale::stubbed_where(scale));
    md.push_str(".\n\n");
    md.push_str(&crate::model::readiness::markdown_table(
        &crate::model::readiness::scale_rows(&scale.blocked),
    ));
    md.push('\n');
}

/// The what-if: its stubs, what the code asked of them in each run, its pages against the
/// main interpreter's.
fn what_if(md: &mut String, scale: &Scale) {
    if scale.what_if.is_empty() {
        return;
    }
    let tag = crate::model::scale::what_if_tag(&scale.what_if);
    md.push_str(&format!(
        "## What-if: {} stubbed\n\nThe rows marked{tag} ran with those modules replaced by recording stubs in every sub-interpreter worker (`--what-if stubs`); the main interpreter and every other row ran the real modules.\n\n| run | stub uses (imports and pages, all workers) |\n|---|---|\n",
        scale.what_if.join(", ")
    ));
    for r in scale.runs.iter().filter(|r| !r.what_if.is_empty() && r.available) {
        md.push_str(&format!("| {} | {} |\n", r.label(), r.stub_uses_words()));
    }
    if let Some(e) = &scale.equivalence {
        md.push_str(&format!(
            "\nEach page rendered{tag} against the sequential render of the same page in the main interpreter (identical to the first or the last baseline's): **{} of {} identical**.\n\n",
            e.identical, e.pages
        ));
        if !e.different.is_empty() {
            md.push_str("| page | first differing line | main interpreter | what-if | main renders vary too |\n|---|---:|---|---|---|\n");
            for d in &e.different {
                md.push_str(&format!(
                    "| `{}` | {} | `{}` | `{}` | {} |\n",
                    d.page,
                    d.line,
                    d.main.replace('|', "\\|").replace('`', "'"),
                    d.what_if.replace('|', "\\|").replace('`', "'"),
                    if d.main_varies { "yes" } else { "no" }
                ));
            }
        }
    }
    md.push('\n');
}
