//! The short terminal summary: table, verdict, where the report is.
use crate::model::TransportKind;
use crate::model::readiness;
use crate::model::results::{PayloadJson, Results};
use crate::model::stats::{ByteStats, LatencySummary};
use crate::model::transport::DominantPage;
use crate::model::transport::StreamCost;
use crate::model::transport::VerdictRow;
use crate::units::{bytes, nanos};
use std::io::Write;
use std::path::Path;

pub fn print(r: &Results, out: &Path) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text(r, out).as_bytes());
    let _ = stdout.flush();
}

/// The summary as printed: heading, answer and strategies, payload table, failures, verdict,
/// and where the report is.
pub fn text(r: &Results, out: &Path) -> String {
    let mut s = String::new();
    heading(&mut s, r);
    strategies(&mut s, r);
    if let Some(line) = r.start_method_line() {
        s.push_str(&format!("{}\n\n", wrap(&line, 96)));
    }
    render_weight(&mut s, r);
    payload_table(&mut s, r);
    transport_table(&mut s, r);
    failures(&mut s, r);
    readiness(&mut s, r);
    if let Some(sg) = &r.suggestion {
        s.push_str(&format!("  suggested payload: {}\n", sg.options));
    }
    if let Some(rs) = &r.read_set {
        let proof = match &r.proof {
            Some(p) => p.line(),
            None => format!("no proof: {}", r.proof_note.as_deref().unwrap_or("not made")),
        };
        s.push_str(&format!("{}\n", wrap(&format!("  {}; {proof}", rs.line()), 96)));
    } else if let Some(note) = &r.read_set_note {
        s.push_str(&format!(
            "{}\n",
            wrap(&format!("read set: not traced — {note}"), 96)
        ));
    }
    s.push_str(&format!("{}\n", wrap(&r.verdict.text, 96)));
    if r.verdict.page_drags_site {
        s.push_str(
            "\n  ! A single Page is nearly as large as the whole Site: it drags the Site's graph along.\n",
        );
    }
    footer(&mut s, r, out);
    s
}

fn heading(s: &mut String, r: &Results) {
    s.push_str(&format!(
        "picklecost {} — {} ({} {}, stage {}, {} pages, Python {}, protocol {}, gc {})\n\n",
        r.tool.version,
        r.site.path,
        r.site.generator,
        r.site.generator_version,
        r.site.stage,
        r.site.pages,
        r.python.version,
        r.settings.protocol,
        r.settings.gc
    ));
}

/// The answer, then one aligned line per strategy with its share and class.
fn strategies(s: &mut String, r: &Results) {
    if r.verdicts.is_empty() {
        return;
    }
    s.push_str(&format!(
        "{}\n\n",
        wrap(&format!("Is the Site picklable cheaply? {}", r.answer), 96)
    ));
    let rows: Vec<[String; 5]> = r
        .verdicts
        .iter()
        .map(|v| {
            [
                v.strategy.clone(),
                v.transport.to_string(),
                speedups(v),
                match (v.transfer_share, v.share_interval) {
                    (Some(x), Some([low, high])) => format!(
                        "{:.2}% of render ({:.1}–{:.1}%)",
                        x * 100.0,
                        low * 100.0,
                        high * 100.0
                    ),
                    (Some(x), None) => format!("{:.2}% of render", x * 100.0),
                    (None, _) => "not shippable".into(),
                },
                serde_json::to_value(v.class)
                    .ok()
                    .and_then(|c| c.as_str().map(str::to_uppercase))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let w: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        s.push_str(&format!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}\n",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        ));
    }
    s.push('\n');
}

/// "predicted 1.62× (sample 0.90×) measured 0.85×": the whole site's prediction, the same
/// model on the real run's sample and what that run measured; "predicted 1.62× (prediction
/// only)"; or nothing.
fn speedups(v: &VerdictRow) -> String {
    let x = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.2}×"));
    match (v.predicted_speedup, v.measured_speedup) {
        (p, Some(m)) => format!(
            "predicted {} (sample {}) measured {m:.2}×",
            x(p),
            x(v.predicted_check_speedup)
        ),
        (Some(p), None) => format!("predicted {p:.2}× (prediction only)"),
        (None, None) => String::new(),
    }
}

/// The site's render total the shares divide, and the sampled pages that weigh most in it.
fn render_weight(s: &mut String, r: &Results) {
    let Some(render) = r.render.as_ref().filter(|_| !r.verdicts.is_empty()) else {
        return;
    };
    let (Some(total), false) = (render.total_ns, render.dominant.is_empty()) else {
        return;
    };
    s.push_str(&format!(
        "{}\n\n",
        wrap(
            &format!(
                "  render total {} for {} pages (the sampled pages' mean x pages); weighing most: {}",
                nanos(total as u64),
                r.site.pages,
                DominantPage::words(&render.dominant)
            ),
            96
        )
    ));
}

/// One row per payload: picklable, count, sizes and latencies, columns aligned.
fn payload_table(s: &mut String, r: &Results) {
    let header = [
        "payload",
        "picklable",
        "count",
        "size p50",
        "size max",
        "dumps p50/p99",
        "loads p50/p99",
        "round trip p50/p99",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    rows.extend(r.payloads.iter().map(payload_row));
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (i, row) in rows.iter().enumerate() {
        s.push_str(&format!("  {}\n", aligned(row, &widths).join("  ")));
        if i == 0 {
            s.push_str(&format!(
                "  {}\n",
                widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  ")
            ));
        }
    }
    s.push('\n');
}

fn payload_row(p: &PayloadJson) -> Vec<String> {
    let size = |f: fn(&ByteStats) -> u64| p.bytes.as_ref().map_or("-".into(), |b| bytes(f(b)));
    let lat = |l: &LatencySummary| {
        if l.samples == 0 {
            "-".to_string()
        } else {
            format!("{} / {}", nanos(l.p50), nanos(l.p99))
        }
    };
    vec![
        p.name.to_string(),
        if p.picklable { "yes".into() } else { "NO".into() },
        format!("{}/{}", p.count, p.objects),
        size(|b| b.median),
        size(|b| b.max),
        lat(&p.dumps_ns),
        lat(&p.loads_ns),
        lat(&p.roundtrip_ns),
    ]
}

/// One row per measured transport and payload, and per transport that sent pages back: the
/// idle round trip (latency) beside the per-item cost of a busy pool (means).
fn transport_table(s: &mut String, r: &Results) {
    let header = [
        "transport",
        "payload",
        "idle round trip (latency) p50",
        "main per item",
        "worker per item",
        "wall per item",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for t in r.transports.iter().filter(|t| t.available) {
        rows.push(transport_row(
            t.name,
            t.payload.to_string(),
            &t.roundtrip_ns,
            t.stream.as_ref(),
        ));
    }
    for b in r.results_back.iter().filter(|b| b.available) {
        rows.push(transport_row(
            b.transport,
            "results back".into(),
            &b.roundtrip_ns,
            b.stream.as_ref(),
        ));
    }
    if rows.len() == 1 {
        return;
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let mut cells = aligned(row, &widths);
        cells[1] = format!("{:<w$}", row[1], w = widths[1]);
        s.push_str(&format!("  {}\n", cells.join("  ")));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            s.push_str(&format!("  {}\n", rule.join("  ")));
        }
    }
    s.push('\n');
}

fn transport_row(
    transport: TransportKind,
    payload: String,
    roundtrip: &LatencySummary,
    stream: Option<&StreamCost>,
) -> Vec<String> {
    let per_item = |ns: f64| nanos(ns.round() as u64);
    let (main, worker, wall) = match stream.filter(|s| s.items > 0) {
        Some(s) => (
            per_item(s.main_ns_mean()),
            match (s.worker_ns.is_empty(), transport) {
                (false, _) => per_item(s.worker_ns_mean()),
                (true, TransportKind::Thread) => "- (by reference)".into(),
                (true, _) => "- (shared)".into(),
            },
            per_item(s.wall_ns_mean()),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    };
    let latency = match roundtrip.samples {
        0 => "-".into(),
        _ => nanos(roundtrip.p50),
    };
    vec![transport.to_string(), payload, latency, main, worker, wall]
}

/// The first column left-aligned, the others right-aligned, to `widths`.
fn aligned(row: &[String], widths: &[usize]) -> Vec<String> {
    row.iter()
        .zip(widths)
        .enumerate()
        .map(|(c, (cell, w))| {
            let pad = " ".repeat(w - cell.chars().count());
            if c == 0 {
                format!("{cell}{pad}")
            } else {
                format!("{pad}{cell}")
            }
        })
        .collect()
}

/// Each unpicklable payload: its error, first root causes, culprit count and repaired cost.
fn failures(s: &mut String, r: &Results) {
    for p in r.payloads.iter().filter(|p| !p.picklable) {
        s.push_str(&format!(
            "  {} not picklable: {}\n",
            p.name,
            p.error.as_deref().unwrap_or("no object measured")
        ));
        for c in p.root_causes.iter().take(5) {
            s.push_str(&format!(
                "    root cause: {}  ({} x{}: {})\n",
                c.pattern, c.type_name, c.count, c.error
            ));
        }
        if p.root_causes.len() > 5 {
            s.push_str(&format!(
                "    ... {} more root causes in report.md\n",
                p.root_causes.len() - 5
            ));
        }
        if !p.failures.is_empty() {
            s.push_str(&format!(
                "    ({} culprits in all: results.json and report.md list every one)\n",
                p.failures.len()
            ));
        }
        if let Some(fix) = &p.repaired {
            s.push_str(&format!("    {}\n", crate::verdict::after_repairs(fix)));
        }
    }
}

/// Every module that keeps the renderer or a payload out of isolated sub-interpreters.
fn readiness(s: &mut String, r: &Results) {
    let rows = readiness::analyze_rows(&r.render_entry_points, &r.imports);
    if rows.iter().any(|row| row.loads == Some(false)) {
        s.push_str("  sub-interpreter readiness (every blocker, each stubbed in turn; nothing stubbed when measuring):\n");
        s.push_str(&readiness::terminal_lines(&rows, "    "));
    }
}

fn footer(s: &mut String, r: &Results, out: &Path) {
    let memory = match (r.memory.peak, r.memory.loaded_site) {
        (Some(peak), Some(site)) => format!("; peak RSS {} (loaded site {})", bytes(peak), bytes(site)),
        _ => String::new(),
    };
    for limit in r.limits.iter().filter(|l| l.cut) {
        s.push_str(&format!("\n  ! {}", wrap(&limit.sentence(), 92)));
    }
    if let Some(workers) = r.memory.workers.as_ref().filter(|w| w.limited()) {
        s.push_str(&format!(
            "\n  ! fewer transport workers for the memory: {}",
            workers.sentence()
        ));
    }
    s.push_str(&format!(
        "\nmeasured {:.2} s of pickle operations in a {:.2} s run (load {:.2} s{memory}); report: {}\n",
        r.timing.measured_seconds,
        r.timing.total_seconds,
        r.timing.load_seconds,
        out.join("report.md").display()
    ));
}

fn wrap(text: &str, width: usize) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    /// A table line's cells: split where two spaces or more part them.
    fn cells(line: &str) -> Vec<&str> {
        line.split("  ")
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect()
    }

    #[test]
    fn summary_says_how_this_pythons_process_pools_start_workers() {
        let mut r = testdata::results();
        let joined = |r: &Results| {
            text(r, Path::new("/out"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(
            joined(&r).contains(
                "This Python's ProcessPoolExecutor() starts workers with spawn (measured: the process rows)."
            ),
            "{}",
            joined(&r)
        );
        r.python.default_start_method = None;
        assert!(!joined(&r).contains("ProcessPoolExecutor"));
    }

    #[test]
    fn summary_says_when_the_renders_were_not_traced() {
        let mut r = testdata::results();
        assert!(!text(&r, Path::new("/out")).contains("read set"));
        r.read_set_note = Some("tracing the renders failed: TypeError: slots".into());
        let s = text(&r, Path::new("/out"));
        let lines: Vec<&str> = s.lines().filter(|l| l.contains("read set")).collect();
        assert_eq!(
            lines,
            ["read set: not traced — tracing the renders failed: TypeError: slots"],
            "{s}"
        );
    }

    #[test]
    fn summary_names_every_strategy_and_payload_and_the_report() {
        let r = testdata::results();
        let s = text(&r, Path::new("/out"));
        assert!(s.starts_with(&format!("picklecost {} — {} (", r.tool.version, r.site.path)));
        // The answer and the verdict are wrapped, word for word.
        let words: Vec<&str> = s.split_whitespace().collect();
        let joined = words.join(" ");
        assert!(joined.contains(&r.answer), "{s}");
        assert!(joined.contains(&r.verdict.text), "{s}");
        for v in &r.verdicts {
            let share = v.transfer_share.map_or("not shippable".to_string(), |x| {
                format!("{:.2}% of render", x * 100.0)
            });
            assert!(
                s.lines().any(|l| l.starts_with(&format!("  {}", v.strategy))
                    && l.contains(&share)
                    && l.ends_with(&v.class.word().to_uppercase())),
                "{v:?} in {s}"
            );
        }
        // The render total the shares divide, and the page weighing most in it.
        assert!(
            joined.contains("render total 24.00 ms for 12 pages")
                && joined.contains("weighing most: tags/index.html (virtual) 9.00 ms (37.5%)"),
            "{s}"
        );
        for p in &r.payloads {
            let size = p.bytes.as_ref().map_or("-".to_string(), |b| bytes(b.median));
            assert!(
                s.lines().any(|l| l.starts_with(&format!("  {} ", p.name))
                    && l.contains(&format!("{}/{}", p.count, p.objects))
                    && l.contains(&size)),
                "{} in {s}",
                p.name
            );
        }
        let site = &r.payloads[0];
        assert!(s.contains(&format!(
            "  site not picklable: {}",
            site.error.as_deref().unwrap()
        )));
        assert!(s.contains(&format!("    ({} culprits in all", site.failures.len())));
        // Each measured transport: the idle round trip labelled as latency, the per-item cost.
        let columns = [
            "transport",
            "payload",
            "idle round trip (latency) p50",
            "main per item",
            "worker per item",
            "wall per item",
        ];
        assert!(s.lines().any(|l| cells(l) == columns), "{s}");
        for t in r.transports.iter().filter(|t| t.available) {
            let stream = t.stream.as_ref().unwrap();
            let figures = [
                nanos(t.roundtrip_ns.p50),
                nanos(stream.main_ns_mean().round() as u64),
                match t.name {
                    TransportKind::Thread => "- (by reference)".into(),
                    _ => nanos(stream.worker_ns_mean().round() as u64),
                },
                nanos(stream.wall_ns_mean().round() as u64),
            ];
            assert!(
                s.lines().any(|l| {
                    let words = cells(l);
                    words.len() == 6
                        && words[0] == t.name.to_string()
                        && words[1] == t.payload.to_string()
                        && words[2..] == figures.iter().map(String::as_str).collect::<Vec<_>>()[..]
                }),
                "{} {} in {s}",
                t.name,
                t.payload
            );
        }
        assert!(
            s.lines()
                .any(|l| l.starts_with("  process") && l.contains("results back"))
        );
        assert!(s.trim_end().ends_with("report: /out/report.md"));
    }
}
