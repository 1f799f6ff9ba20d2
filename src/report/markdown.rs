//! report.md: design-doc-ready, verdict first.
use super::{Exporter, ReportFile, Run, svg};
use crate::model::PayloadKind;
use crate::model::TransportKind;
use crate::model::explain::Attribution;
use crate::model::readiness;
use crate::model::results::{GrowthJson, PayloadJson, Results, SiteCopy, SuggestionJson, virtual_mark};
use crate::model::stats::{ByteStats, LatencySummary};
use crate::model::transport::{StreamCost, VerdictRow};
use crate::units::{bytes, nanos, thousands};
use anyhow::Result;
use std::fmt::Write;

pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, run: &Run) -> Result<Vec<ReportFile>> {
        Ok(vec![ReportFile::new("report.md", render(run.results))])
    }
}

pub fn summary_table(payloads: &[PayloadJson]) -> String {
    let mut t = String::new();
    t.push_str("| payload | picklable | count | size p50 | size max | dumps p50 / p99 | loads p50 / p99 | round trip p50 / p99 |\n");
    t.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for p in payloads {
        let size = |f: fn(&ByteStats) -> u64| p.bytes.as_ref().map_or("–".to_string(), |b| bytes(f(b)));
        let lat = |s: &LatencySummary| {
            if s.samples == 0 {
                "–".to_string()
            } else {
                format!("{} / {}", nanos(s.p50), nanos(s.p99))
            }
        };
        let _ = writeln!(
            t,
            "| `{}` | {} | {} of {} | {} | {} | {} | {} | {} |",
            p.name,
            if p.picklable {
                "yes".to_string()
            } else {
                format!("**no** ({} failed)", p.failures_count)
            },
            p.count,
            p.objects,
            size(|b| b.median),
            size(|b| b.max),
            lat(&p.dumps_ns),
            lat(&p.loads_ns),
            lat(&p.roundtrip_ns)
        );
    }
    t
}

/// report.md, section by section, verdict first.
pub(crate) fn render(r: &Results) -> String {
    let mut md = String::new();
    title(&mut md, r);
    strategies(&mut md, r);
    verdict(&mut md, r);
    summary(&mut md, r);
    failed_objects(&mut md, r);
    imports(&mut md, r);
    why(&mut md, r);
    transports(&mut md, r);
    growth(&mut md, r);
    super::readset::section(&mut md, r);
    charts(&mut md, r);
    largest_pages(&mut md, r);
    environment(&mut md, r);
    method(&mut md, r);
    md
}

fn title(md: &mut String, r: &Results) {
    let _ = writeln!(md, "# picklecost: {}\n", r.site.path);
    let _ = writeln!(
        md,
        "{} site, {} pages, stage `{}`, pickle protocol {}, measured {}.\n",
        r.site.generator, r.site.pages, r.site.stage, r.settings.protocol, r.python.version
    );
}

fn verdict(md: &mut String, r: &Results) {
    md.push_str("## Verdict\n\n");
    let _ = writeln!(md, "{}\n", r.verdict.text);
    if r.verdict.page_drags_site {
        md.push_str("> **A single Page is nearly as large as the whole Site:** it drags the Site's object graph along. Ship a page subset instead of Page objects.\n\n");
    }
    for limit in r.limits.iter().filter(|l| l.cut) {
        let _ = writeln!(md, "> **Cut by a time limit:** {}.\n", limit.sentence());
    }
    if let Some(workers) = r.memory.workers.as_ref().filter(|w| w.limited()) {
        let _ = writeln!(
            md,
            "> **Fewer workers for the memory:** {}.\n",
            workers.sentence()
        );
    }
}

fn summary(md: &mut String, r: &Results) {
    md.push_str("## Summary\n\n");
    md.push_str(&summary_table(&r.payloads));
    md.push_str("\nLatencies are per object (one `pickle.dumps` or `pickle.loads` call); round trip is dumps + loads of the same object. Sizes are `len(pickle.dumps(obj, protocol))`.\n\n");
}

/// The first ten objects of each payload that failed to pickle, with their errors.
fn failed_objects(md: &mut String, r: &Results) {
    for p in r.payloads.iter().filter(|p| !p.failed_objects.is_empty()) {
        let _ = writeln!(
            md,
            "### `{}`: objects that failed to pickle ({})\n",
            p.name, p.failures_count
        );
        for f in p.failed_objects.iter().take(10) {
            let mark = virtual_mark(f.virtual_page);
            let _ = writeln!(md, "- `{}`{mark}: {}", f.key, f.error);
        }
        md.push('\n');
    }
}

/// Every global a receiving interpreter must resolve, per inspected payload.
fn imports(md: &mut String, r: &Results) {
    md.push_str("## What a worker must be able to import\n\n");
    md.push_str("Read from the pickle streams themselves (opcode scan, nothing unpickled): every global a receiving interpreter must resolve. A sub-interpreter or process can unpickle the payload only if it can import all of them.\n\n");
    for p in r.payloads.iter().filter(|p| p.inspected > 0) {
        let _ = writeln!(
            md,
            "- `{}` ({} pickle(s) inspected; {}): {}",
            p.name,
            p.inspected,
            match p.plain_data {
                Some(true) => "plain data",
                _ => "not plain data",
            },
            import_closure(&p.import_closure)
        );
        if !p.unsafe_globals.is_empty() {
            let _ = writeln!(md, "  - **unsafe to load**: {}", p.unsafe_globals.join(", "));
        }
    }
    md.push('\n');
}

/// "no imports needed", or "2 globals — `a.B`, `c.D`".
fn import_closure(globals: &[String]) -> String {
    if globals.is_empty() {
        return "no imports needed".to_string();
    }
    format!(
        "{} globals — {}",
        globals.len(),
        globals
            .iter()
            .map(|g| format!("`{g}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Links to the charts of the run (the transport and growth charts are linked in their own
/// sections).
fn charts(md: &mut String, r: &Results) {
    md.push_str("## Charts\n\n");
    let _ = writeln!(
        md,
        "![Round-trip latency by percentile](charts/{})\n",
        svg::LATENCY
    );
    let _ = writeln!(
        md,
        "![Full Site and Page vs page subset](charts/{})\n",
        svg::COMPARISON
    );
    if r.payloads
        .iter()
        .any(|p| p.name == PayloadKind::Site && p.attribution.is_some())
    {
        let _ = writeln!(
            md,
            "![Where the Site's pickled bytes go](charts/{})\n",
            svg::SITE_BYTES
        );
    }
    for p in r.payloads.iter().filter(|p| p.count > 0) {
        let _ = writeln!(
            md,
            "![Pickled size distribution of {0}](charts/{1})\n",
            p.name,
            svg::size_chart(p.name)
        );
    }
}

/// The five largest page pickles and the three smallest (no page listed twice).
fn largest_pages(md: &mut String, r: &Results) {
    let Some(page) = r
        .payloads
        .iter()
        .find(|p| p.name == PayloadKind::Page && p.sizes.len() > 1)
    else {
        return;
    };
    let mut sorted: Vec<_> = page.sizes.iter().collect();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.bytes));
    md.push_str("### Largest and smallest page pickles\n\n| page | bytes |\n|---|---:|\n");
    let n = sorted.len();
    for s in sorted
        .iter()
        .take(5)
        .chain(sorted.iter().skip(n.saturating_sub(3).max(5)))
    {
        let mark = virtual_mark(s.virtual_page);
        let _ = writeln!(md, "| `{}`{mark} | {} |", s.key, s.bytes);
    }
    md.push('\n');
}

fn environment(md: &mut String, r: &Results) {
    md.push_str("## Environment\n\n");
    let _ = writeln!(
        md,
        "- Python {} ({}), {}",
        r.python.version, r.python.implementation, r.python.build
    );
    let _ = writeln!(
        md,
        "- Build: {}; GIL {}",
        if r.python.free_threaded {
            "free-threaded"
        } else {
            "with GIL"
        },
        if r.python.gil_enabled {
            "enabled"
        } else {
            "disabled"
        }
    );
    let _ = writeln!(
        md,
        "- Interpreter: `{}` (prefix `{}`, found by {})",
        r.python.executable, r.python.prefix, r.python.environment_found_by
    );
    if let Some(method) = &r.python.default_start_method {
        let _ = writeln!(
            md,
            "- Default multiprocessing start method: `{method}` (what `ProcessPoolExecutor()` starts workers with)"
        );
    }
    let _ = writeln!(
        md,
        "- CPU: {} ({} logical CPUs), {}",
        r.environment.cpu, r.environment.cpu_count, r.environment.platform
    );
    memory(md, r);
    limits(md, r);
    let _ = writeln!(
        md,
        "- {} {} ({} {})",
        r.tool.name, r.tool.version, r.site.generator, r.site.generator_version
    );
    let _ = writeln!(md, "- Command: `{}`\n", r.environment.command_line);
}

/// The tool's resident set, where the kernel told it.
fn memory(md: &mut String, r: &Results) {
    let Some(peak) = r.memory.peak else { return };
    let phases: Vec<String> = r
        .memory
        .phase_peaks
        .iter()
        .map(|(phase, b)| format!("{phase} {}", bytes(*b)))
        .collect();
    let _ = writeln!(
        md,
        "- Memory (the tool's resident set): peak {}; the loaded site added {}; largest pickle {}; per phase: {}",
        bytes(peak),
        r.memory.loaded_site.map_or("–".into(), bytes),
        r.memory.largest_payload.map_or("–".into(), bytes),
        phases.join(", ")
    );
}

/// Each limited phase against its time limit, and the transport workers the memory let start.
fn limits(md: &mut String, r: &Results) {
    for limit in &r.limits {
        let _ = writeln!(md, "- Time limit, {}", limit.sentence());
    }
    if let Some(workers) = &r.memory.workers {
        let _ = writeln!(
            md,
            "- Transport workers per sub-interpreter / process pool: {} (each worker taken to need the loaded site's size)",
            workers.sentence()
        );
    }
}

/// How the site stayed untouched, and whether pickled paths have their real length.
fn site_copy(copy: &SiteCopy) -> String {
    let lengths = match copy.path_bytes_delta {
        0 => "its root path is as long as the site's, so every pickled path has its real length \
              and sizes are the site's own"
            .to_string(),
        delta => format!(
            "its root path is {delta:+} bytes longer than the site's, so every path string \
             pickled from it is {delta:+} bytes off its in-place size (a shorter `$TMPDIR` \
             avoids this)"
        ),
    };
    format!(
        "The generator ran on a private copy of the site ({} files, {}, copied in {:.2} s; the \
         site itself was fingerprinted before and after and is unchanged): {lengths}. {}",
        copy.files,
        crate::units::bytes(copy.bytes),
        copy.seconds,
        copy_writes(copy)
    )
}

/// What the generator wrote into the copy (it would have written it into the site).
fn copy_writes(copy: &SiteCopy) -> String {
    if copy.changed_count == 0 {
        return "The generator wrote nothing into the copy.".into();
    }
    format!(
        "The generator changed the copy (what it would have changed in the site): {}.",
        listed_changes(&copy.changed, copy.changed_count)
    )
}

/// "N entries: `added a`, `modified b` ... and M more" (the first five named).
fn listed_changes(changed: &[String], count: usize) -> String {
    let listed: Vec<String> = changed.iter().take(5).map(|c| format!("`{c}`")).collect();
    let more = count.saturating_sub(listed.len());
    format!(
        "{count} entries: {}{}",
        listed.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

fn method(md: &mut String, r: &Results) {
    md.push_str("## Method\n\n");
    let _ = writeln!(
        md,
        "- Stage: {}; loading took {:.2} s.",
        r.site.stage_method, r.site.load_seconds
    );
    let _ = writeln!(md, "- {}", site_copy(&r.site.copy));
    if r.site.build_changed_count > 0 {
        let _ = writeln!(
            md,
            "- The rendered build wrote into its own copy of the site (what a build in place \
             would write into the site): {}.",
            listed_changes(&r.site.build_changed, r.site.build_changed_count)
        );
    }
    let _ = writeln!(md, "- Payloads: {}.", payloads_defined(r));
    let _ = writeln!(
        md,
        "- Pickle protocol {}; up to {} timed rounds per object; time budget {} s for the measuring phase (warm-up rounds per payload, at least 5 ms, set the plan; they are not samples).",
        r.settings.protocol, r.settings.iterations, r.settings.budget_seconds
    );
    for p in &r.payloads {
        let _ = writeln!(md, "- `{}`: {}.", p.name, p.selection);
    }
    let _ = writeln!(
        md,
        "- Garbage collection: {} while timing; the loaded graph is frozen (`gc.freeze()`) and each unpickled copy is released and collected outside the timed region.",
        if r.settings.gc == crate::model::GcMode::Off {
            "disabled (like `timeit`)"
        } else {
            "enabled (`--gc on`)"
        }
    );
    let _ = writeln!(
        md,
        "- Latencies are recorded in HdrHistograms (ns, 3 significant digits); distributions are in `histograms/*.hgrm` (µs)."
    );
    run_time(md, r);
}

/// What each payload is: the fixed ones, and the generator's own and the whole-site extra
/// where the adapter offers them.
fn payloads_defined(r: &Results) -> String {
    let generator = r
        .site
        .generator_payload
        .as_deref()
        .map(|m| format!("; `page_generator` = {m}"))
        .unwrap_or_default();
    let extra = r
        .site
        .extra_root
        .as_deref()
        .map(|n| format!("; `site_extra` = the site's `{n}`, a whole-site object of its own"))
        .unwrap_or_default();
    format!(
        "`site` = the Site object; `page` = each Page object pickled on its own, as a worker would receive it; `page_subset` = per page a plain dict of `{}` (paths as strings, read-only mapping views as dicts, other values as they are){generator}{extra}",
        r.settings.fields.join("`, `"),
    )
}

fn run_time(md: &mut String, r: &Results) {
    let phases: Vec<String> = r
        .timing
        .phases
        .iter()
        .map(|(k, v)| format!("{k} {v:.2} s"))
        .collect();
    let _ = writeln!(
        md,
        "- Run time: {:.2} s in all ({}); the timed pickle operations themselves took {:.2} s (the samples), {:.2} s (round trips of the reference object that gauges the machine's speed) and {:.2} s (the warm-up's calls).",
        r.timing.total_seconds,
        phases.join(", "),
        r.timing.measured_seconds,
        r.timing.reference_seconds,
        r.timing.calibration_operations_seconds
    );
}

fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace('|', "\\|"))
}

/// "Why": culprits, where the bytes go, what a Page drags, and the suggested payload.
fn why(md: &mut String, r: &Results) {
    md.push_str("## Why\n\n");
    if !r.settings.diagnose {
        md.push_str("Not computed (`--no-diagnose`).\n\n");
        return;
    }
    for p in r
        .payloads
        .iter()
        .filter(|p| !p.failures.is_empty() || p.failure_search.is_some())
    {
        unpicklable(md, p);
    }
    for p in r.payloads.iter() {
        if let Some(a) = &p.attribution {
            where_bytes_go(md, p.name, a);
        }
    }
    if let Some(p) = r
        .payloads
        .iter()
        .find(|p| p.name == PayloadKind::Page && !p.drag.is_empty())
    {
        page_drag(md, p);
    }
    if let Some(sg) = &r.suggestion {
        suggestion(md, r, sg);
    }
    for p in r.payloads.iter().filter(|p| !p.diagnosis_errors.is_empty()) {
        let _ = writeln!(
            md,
            "- `{}`: could not explain: {}",
            p.name,
            p.diagnosis_errors.join("; ")
        );
    }
}

/// One payload's unpicklable objects: root causes, the cost after repairs, every culprit, and
/// how the search went.
fn unpicklable(md: &mut String, p: &PayloadJson) {
    let _ = writeln!(md, "### Unpicklable objects in `{}`\n", p.name);
    root_causes(md, p);
    if let Some(fix) = &p.repaired {
        let _ = writeln!(
            md,
            "**After repairs** (mapping views as dicts, locks as `None`, files, generators, modules and local functions as markers; measured on `{}` in this process, not the payload's own figure): {}.\n",
            fix.subject,
            crate::verdict::after_repairs(fix)
        );
    }
    culprits(md, p);
    if let Some(search) = &p.failure_search {
        let _ = writeln!(
            md,
            "\n{} objects visited{}.\n",
            search.visited,
            if search.truncated {
                format!("; the search was cut short: {}", search.limits.join("; "))
            } else {
                String::new()
            }
        );
    }
}

fn root_causes(md: &mut String, p: &PayloadJson) {
    if p.root_causes.is_empty() {
        return;
    }
    md.push_str("Root causes: the culprits grouped by type and path pattern (`[*]` stands for the indices and keys that vary), most instances first.\n\n");
    md.push_str("| pattern | type | error | instances | example |\n|---|---|---|---:|---|\n");
    for c in &p.root_causes {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            code(&c.pattern),
            code(&c.type_name),
            c.error.replace('|', "\\|"),
            c.count,
            code(&c.example)
        );
    }
    md.push('\n');
}

/// Every culprit, folded away in a `<details>` block.
fn culprits(md: &mut String, p: &PayloadJson) {
    let _ = writeln!(
        md,
        "<details><summary>Every culprit ({}): each minimal object that fails to pickle on its own, with the path from the root as Python would spell it</summary>\n",
        p.failures.len()
    );
    md.push_str("| path | type | error | references to it |\n|---|---|---|---:|\n");
    for c in &p.failures {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            code(&c.path),
            code(&c.type_name),
            c.error.replace('|', "\\|"),
            c.paths_reaching
        );
    }
    md.push_str("\n</details>\n");
}

/// The byte attribution of a typical object: the largest paths and the largest types.
fn where_bytes_go(md: &mut String, name: PayloadKind, a: &Attribution) {
    let _ = writeln!(md, "### Where the bytes of `{name}` go\n");
    let _ = writeln!(
        md,
        "Attributed for {}: {} bytes in all ({} by the C pickler); each object counted once, at its first reference in pickling order; {} bytes belong to objects reachable by more than one path.\n",
        a.subject, a.total_bytes, a.pickle_bytes, a.shared_bytes
    );
    md.push_str("| path | type | inclusive | exclusive |\n|---|---|---:|---:|\n");
    for t in a.top_paths.iter().take(12) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            code(&t.path),
            code(&t.type_name),
            bytes(t.inclusive_bytes),
            bytes(t.exclusive_bytes)
        );
    }
    md.push_str("\n| type | bytes | objects |\n|---|---:|---:|\n");
    for t in a.by_type.iter().take(8) {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            code(&t.type_name),
            bytes(t.bytes),
            t.count
        );
    }
    md.push('\n');
}

fn page_drag(md: &mut String, p: &PayloadJson) {
    md.push_str("### What a Page drags along\n\n");
    md.push_str("References of the typical Page that reach the Site or other Pages. *Adds* is what the reference brings into this Page's pickle (an object already pulled in by an earlier attribute adds nothing); *alone* is that value pickled on its own.\n\n");
    md.push_str("| reference | reaches | adds | alone |\n|---|---|---:|---:|\n");
    for d in &p.drag {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            code(&d.path),
            d.reaches,
            d.bytes.map_or("–".into(), bytes),
            d.alone_bytes.map_or("–".into(), bytes)
        );
    }
    md.push('\n');
}

/// The suggested payload as options to paste, its sizes, what it leaves out and why, and how
/// it compares with the generator's own payload.
fn suggestion(md: &mut String, r: &Results, sg: &SuggestionJson) {
    md.push_str("### Suggested minimal payload\n\n");
    md.push_str("Page attributes that pickle, drag neither the Site nor other Pages, and carry page-specific data; dict fields keep all keys but the listed ones. Checked on every page, sized on a sample.\n\n");
    let _ = writeln!(md, "```\n{}\n```\n", sg.options);
    let _ = writeln!(
        md,
        "Estimated median {}; measured as `page_suggested`: {}.\n",
        sg.median_bytes.map_or("–".into(), bytes),
        sg.measured_median_bytes.map_or("–".into(), bytes)
    );
    if !sg.dropped.is_empty() {
        md.push_str("| left out | why |\n|---|---|\n");
        for d in &sg.dropped {
            let _ = writeln!(md, "| {} | {} |", code(&d.field), d.reason.replace('|', "\\|"));
        }
        md.push('\n');
    }
    if let Some(cmp) = &sg.generator_comparison {
        generator_comparison(md, r, cmp);
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:.2}%", v * 100.0))
}

/// "1.45% (1.21–1.70%)": the share of totals and its 95% interval.
fn share_with_interval(v: &VerdictRow) -> String {
    match (v.transfer_share, v.share_interval) {
        (Some(share), Some([low, high])) => {
            format!("{:.2}% ({:.2}–{:.2}%)", share * 100.0, low * 100.0, high * 100.0)
        }
        (share, _) => pct(share),
    }
}

/// "1.62×", or a dash.
fn speedup(x: Option<f64>) -> String {
    x.map_or("–".into(), |s| format!("{s:.2}×"))
}

/// The measured speed-up, or a dash and why there is none.
fn measured(v: &VerdictRow) -> String {
    match (v.measured_speedup, &v.measured_reason) {
        (Some(m), _) => format!("{m:.2}×"),
        (None, Some(reason)) => format!("– ({})", reason.replace('|', "\\|")),
        (None, None) => "–".into(),
    }
}

/// How the speed-ups were predicted and checked, in a paragraph before the strategies' table.
fn check_said(r: &Results) -> String {
    let mut s = "Predicted speed-up: rendering the whole site with the row's workers over rendering it sequentially, from this run's measured parts (one worker's start-up and cold start, the site-wide data a per-page worker needs, the larger of the main interpreter's own transfer work and the workers' rendering plus theirs, the last result back; see the method). ".to_string();
    match &r.check {
        Some(c) if c.ran => s.push_str(&format!(
            "Measured speed-up: a short real run on this machine, {} workers of each strategy rendering {} pages against a sequential baseline timed twice (noise {}), beside the same model's prediction for those pages (start-up weighs more on a few pages than on the whole site); `practical` needs at least 1 + {:.0}%, below 1 − the noise is slower than sequential (`impractical`). The real run ships its own way (see each row's why).\n\n",
            c.workers,
            c.scale.as_ref().map_or(0, |s| s.pages),
            c.noise.map_or("–".into(), |n| format!("{:.1}%", n * 100.0)),
            c.margin * 100.0
        )),
        Some(c) => s.push_str(&format!(
            "No real run checked them ({}): every class rests on the shares, a prediction only.\n\n",
            c.reason.as_deref().unwrap_or("not run")
        )),
        None => s.push_str("\n\n"),
    }
    s
}

/// The answer and the per-strategy table lead the report.
fn strategies(md: &mut String, r: &Results) {
    md.push_str("## Answer\n\n");
    let _ = writeln!(md, "**Is the Site picklable cheaply?** {}\n", r.answer);
    if r.verdicts.is_empty() {
        return;
    }
    let t = r.thresholds.unwrap_or_default();
    let _ = writeln!(
        md,
        "Transfer cost for the whole site as a share of its render cost on this machine, a ratio of totals (each sampled cost's mean times the pages or workers that pay it; a 95% bootstrap interval in brackets): `practical` <= {:.0}%, `marginal` <= {:.0}%, else `impractical` (and always when the payload cannot be shipped); `blocked` where the payload ships but the worker cannot import the renderer. Threads share objects by reference and are the zero-copy baseline (see Transports).\n",
        t.practical * 100.0,
        t.marginal * 100.0
    );
    md.push_str(&check_said(r));
    md.push_str("| strategy | transport | workers | transfer / render | one-time set-up / render | predicted speed-up | predicted on the checked sample | measured speed-up | class | why |\n|---|---|---:|---:|---:|---:|---:|---:|---|---|\n");
    for v in &r.verdicts {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | **{}** | {} |",
            v.strategy,
            v.transport,
            v.workers,
            share_with_interval(v),
            pct(v.setup_share),
            speedup(v.predicted_speedup),
            speedup(v.predicted_check_speedup),
            measured(v),
            serde_json::to_value(v.class)
                .ok()
                .and_then(|c| c.as_str().map(str::to_string))
                .unwrap_or_default(),
            v.why.replace('|', "\\|")
        );
    }
    let _ = writeln!(md, "\n![Transfer cost vs render cost](charts/{})\n", svg::SHARES);
    if let Some(line) = r.start_method_line() {
        let _ = writeln!(md, "{line}\n");
    }
}

fn transports(md: &mut String, r: &Results) {
    if r.transports.is_empty() {
        return;
    }
    md.push_str("## Transports\n\n");
    md.push_str("Each payload sent to a worker, its fields read there and a small count sent back, timed end to end: `thread` hands the object over by reference (no copy); `subinterpreter` pickles in the main interpreter, passes the bytes through a queue and unpickles in an isolated sub-interpreter (own GIL); `subinterpreter-legacy` is a legacy-config sub-interpreter (shares the main GIL: isolation, not parallelism), measured only for payloads an isolated one cannot take; `process` does the same with spawned worker processes of the site's interpreter; `forkserver` with worker processes forked by multiprocessing's forkserver (a process of the site's interpreter started for the pool, before any payload existed there: the first worker's set-up includes starting it, which a program pays once); `fork` forks workers after the objects exist: they share them copy-on-write, nothing is pickled out (an index goes), and its set-up is the fork plus the child's first touch of every object. The rendered result each page sends back is measured apart, below.\n\n");
    md.push_str(LATENCY_VS_COST);
    md.push_str("| transport | payload | idle round trip (latency) p50 / p99 | samples | main per item | worker per item | wall per item | set-up per worker | note |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for t in &r.transports {
        let [main, worker, wall] = stream_columns(t.stream.as_ref(), t.name);
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {main} | {worker} | {wall} | {} | {} |",
            t.name,
            t.payload,
            if t.roundtrip_ns.samples > 0 {
                format!("{} / {}", nanos(t.roundtrip_ns.p50), nanos(t.roundtrip_ns.p99))
            } else {
                "–".into()
            },
            t.roundtrip_ns.samples,
            t.setup_ns.map_or("–".into(), nanos),
            stream_note(t.reason.as_deref(), t.stream.as_ref(), t.stream_reason.as_deref())
        );
    }
    md.push('\n');
    for payload in r.payloads.iter().map(|p| p.name) {
        if r.transports
            .iter()
            .any(|t| t.payload == payload && t.roundtrip_ns.samples > 0)
        {
            let _ = writeln!(
                md,
                "![Round trip of {payload} by transport](charts/{})\n",
                svg::transport_chart(payload)
            );
        }
    }
    results_back(md, r);
    entry_points(md, r);
    payload_imports(md, r);
    render_cost(md, r);
}

/// Whether the modules each payload's unpickling imports load in a fresh sub-interpreter.
fn payload_imports(md: &mut String, r: &Results) {
    if r.imports.is_empty() {
        return;
    }
    md.push_str("### Can the payload cross into a sub-interpreter?\n\nModules the unpickling imports (from the pickle stream's globals), imported in a fresh isolated and legacy-config sub-interpreter:\n\n| payload | module | isolated | legacy | error |\n|---|---|---|---|---|\n");
    let mark = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "n/a",
    };
    for i in &r.imports {
        let _ = writeln!(
            md,
            "| `{}` | `{}` | {} | {} | {} |",
            i.payload,
            i.module,
            mark(i.isolated_ok),
            mark(i.legacy_ok),
            i.error.as_deref().unwrap_or("")
        );
    }
    md.push('\n');
}

fn render_cost(md: &mut String, r: &Results) {
    let Some(render) = &r.render else { return };
    md.push_str("### Render cost\n\n");
    match (&r.render_ns, render.available) {
        (Some(s), true) => {
            let _ = writeln!(
                md,
                "{} pages rendered{}: p50 {}, p90 {}, p99 {}, max {} per page. Method: {}\n",
                s.samples,
                if render.sampled { " (a sample)" } else { "" },
                nanos(s.p50),
                nanos(s.p90),
                nanos(s.p99),
                nanos(s.max),
                render.method.as_deref().unwrap_or("")
            );
            render_total(md, r, render);
        }
        _ => {
            let _ = writeln!(
                md,
                "Not measured: {}\n",
                render.reason.as_deref().unwrap_or("unknown reason")
            );
        }
    }
    render_failures(md, render);
}

/// The render total the shares divide (mean x pages, not p50 x pages: render times are skewed)
/// and the sampled pages that weigh most in it.
fn render_total(md: &mut String, r: &Results, render: &crate::model::results::RenderJson) {
    let Some(total) = render.total_ns else { return };
    let _ = write!(
        md,
        "Render total for the site's {} pages: {} (the sampled pages' mean x pages; every share \
         below divides this total).",
        r.site.pages,
        nanos(total as u64)
    );
    if !render.dominant.is_empty() {
        let _ = write!(
            md,
            " Weighing most of the sampled render time: {}.",
            crate::model::transport::DominantPage::words(&render.dominant)
        );
    }
    md.push_str("\n\n");
}

/// The pages whose render failed, by name with their error (not in the figures above).
fn render_failures(md: &mut String, render: &crate::model::results::RenderJson) {
    if render.errors.is_empty() {
        return;
    }
    let failed = render.failed;
    let _ = writeln!(
        md,
        "{failed} page{} failed to render and {} not in these figures{}:\n",
        if failed == 1 { "" } else { "s" },
        if failed == 1 { "is" } else { "are" },
        if failed > render.errors.len() as u64 {
            format!(" (the first {})", render.errors.len())
        } else {
            String::new()
        }
    );
    for error in &render.errors {
        let text = error.as_str().map_or_else(|| error.to_string(), str::to_string);
        let _ = writeln!(md, "- {}", text.replace('\n', " "));
    }
    md.push('\n');
}

/// The suggestion beside the generator's own worker payload: fields and measured cost.
fn generator_comparison(md: &mut String, r: &Results, cmp: &crate::model::explain::FieldComparison) {
    md.push_str(
        "### The suggestion beside the generator's own payload

",
    );
    if let Some(method) = &r.site.generator_payload {
        let _ = writeln!(md, "`page_generator` is {method}.\n");
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "–".to_string()
        } else {
            names.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ")
        }
    };
    md.push_str("| | fields | size p50 | round trip p50 |\n|---|---|---:|---:|\n");
    for (label, kind, fields) in [
        ("suggested", PayloadKind::PageSuggested, &cmp.only_suggested),
        ("generator's", PayloadKind::PageGenerator, &cmp.only_generator),
    ] {
        let p = r.payloads.iter().find(|p| p.name == kind);
        let _ = writeln!(
            md,
            "| {label} (`{kind}`) | only here: {} | {} | {} |",
            list(fields),
            p.and_then(|p| p.bytes.as_ref())
                .map_or("–".into(), |b| bytes(b.median)),
            p.filter(|p| p.roundtrip_ns.samples > 0)
                .map_or("–".into(), |p| nanos(p.roundtrip_ns.p50))
        );
    }
    let _ = writeln!(md, "\nIn both: {}.\n", list(&cmp.both));
}

/// Cost against page count: the measured copies, the fits, the projections (labelled so).
fn growth(md: &mut String, r: &Results) {
    let Some(g) = &r.growth else { return };
    md.push_str("## Growth: cost against page count\n\n");
    let _ = writeln!(
        md,
        "Copies of the site (in a temporary directory, never in the site) with {} times its content pages, each loaded by the generator adapter and measured like the site itself (size: the Site, or the median page; p50 of dumps, loads and the round trip). Last-level cache: {}.\n",
        g.factors
            .iter()
            .map(|f| format!("{f:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string())
            .collect::<Vec<_>>()
            .join(", "),
        g.llc_bytes.map_or("not readable from /sys".into(), bytes)
    );
    md.push_str("| pages | why | generator load | copy made, loaded, measured in |\n|---:|---|---:|---:|\n");
    for c in &g.copies {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} s |",
            thousands(c.pages),
            c.reason.label(),
            nanos(c.load_ns),
            c.seconds
        );
    }
    md.push_str("\n| pages | payload | size | dumps p50 | loads p50 | round trip p50 |\n|---:|---|---:|---:|---:|---:|\n");
    let t = |v: Option<u64>| v.map_or("–".into(), nanos);
    for p in &g.points {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} | {} |",
            p.pages,
            p.payload,
            p.bytes.map_or("not picklable".into(), bytes),
            t(p.dumps_ns),
            t(p.loads_ns),
            t(p.roundtrip_ns)
        );
    }
    growth_fits(md, g);
    md.push_str("\n**Projection** (not a measurement: the fit's 95% prediction interval, widened by the out-of-sample check as it compounds over the extrapolation; none beyond ");
    let _ = writeln!(
        md,
        "{}× the largest copy measured):\n\n| pages | payload | quantity | projection |\n|---:|---|---|---|",
        g.max_extrapolation
    );
    for p in &g.projections {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            thousands(p.pages),
            p.payload.map_or("the generator".into(), |k| format!("`{k}`")),
            p.quantity.label(),
            crate::verdict::growth::projected(g, p)
        );
    }
    for f in crate::verdict::growth::findings(g) {
        let _ = writeln!(md, "\n- {f}");
    }
    for e in &g.errors {
        let _ = writeln!(md, "\n- not measured: {e}");
    }
    let _ = writeln!(
        md,
        "\n![Size against pages](charts/{})\n\n![Round trip against pages](charts/{})\n\n![Generator load against pages](charts/{})\n",
        svg::GROWTH_BYTES,
        svg::GROWTH_ROUNDTRIP,
        svg::GROWTH_LOAD
    );
}

/// The fits table: every copy's line and exponent, the larger copies' exponent, the model the
/// projection uses, the step up and the out-of-sample check.
fn growth_fits(md: &mut String, g: &GrowthJson) {
    md.push_str("\nFits (least squares against pages over every copy; k from a log-log fit, 1 = linear; the projection's model fitted on the larger copies, chosen by how well it predicted the largest copy from the others):\n\n| payload | quantity | per page | R² | k | k (larger copies) | model | per-page cost steps up | out of sample: largest copy predicted / measured |\n|---|---|---:|---:|---:|---:|---|---|---|\n");
    for f in &g.fits {
        let amount = |v: f64| crate::verdict::growth::amount(f.quantity, v);
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} | {:.3} | {} | {} | {} | {} | {} |",
            f.payload.map_or("the generator".into(), |k| format!("`{k}`")),
            f.quantity.label(),
            f.slope_per_page,
            f.r2,
            f.exponent.map_or("–".into(), |k| format!("{k:.2}")),
            f.upper_exponent.map_or("–".into(), |k| format!("{k:.2}")),
            f.model.map_or("dumps + loads".into(), |m| format!(
                "{m:?} from {} pages",
                thousands(f.fitted_from_pages)
            )),
            f.step_up.map_or("no".into(), |s| format!(
                "**{} → {} pages**",
                thousands(s.from_pages),
                thousands(s.to_pages)
            )),
            f.holdout.map_or("–".into(), |h| format!(
                "{} / {} at {} pages (fit up to {})",
                amount(h.predicted),
                amount(h.measured),
                thousands(h.pages),
                thousands(h.fitted_up_to)
            ))
        );
    }
}

/// What the idle round trip and the stream columns are.
const LATENCY_VS_COST: &str = "*Idle round trip (latency)*: one request to an idle worker and its answer back, the worker's wake-up included. *Per item* (cost): the same workers kept busy, each with requests in flight (a new one sent as each reply comes back): *main per item* is the main interpreter's own CPU time per item (pickling out and sending, taking the reply and unpickling it; waiting is not in it: the serial part of a pool), *worker per item* the worker's own CPU time for the transfer (unpickling in, pickling back; – where nothing is copied), *wall per item* the stream's wall time over its items (throughput). Means over the streamed items.\n\n";

/// Main, worker and wall per item (means) of a stream, or dashes.
fn stream_columns(stream: Option<&StreamCost>, transport: TransportKind) -> [String; 3] {
    let Some(s) = stream.filter(|s| s.items > 0) else {
        return ["–".into(), "–".into(), "–".into()];
    };
    let worker = match (s.worker_ns.is_empty(), transport) {
        (false, _) => nanos(s.worker_ns_mean().round() as u64),
        (true, TransportKind::Thread) => "– (by reference)".into(),
        (true, _) => "– (shared)".into(),
    };
    [
        nanos(s.main_ns_mean().round() as u64),
        worker,
        nanos(s.wall_ns_mean().round() as u64),
    ]
}

/// A row's note: why it was not measured, why it has no stream, or how far a cut stream got.
fn stream_note(reason: Option<&str>, stream: Option<&StreamCost>, stream_reason: Option<&str>) -> String {
    let mut notes: Vec<String> = reason.into_iter().map(str::to_string).collect();
    if let Some(why) = stream_reason {
        notes.push(format!("no per-item figures: {why}"));
    }
    if let Some(s) = stream.filter(|s| s.in_flight < crate::settings::tuning::STREAM_IN_FLIGHT) {
        notes.push(format!(
            "{} request(s) in flight per worker: more pickles waiting would not fit half the memory",
            s.in_flight
        ));
    }
    if let Some(s) = stream.filter(|s| s.cut()) {
        notes.push(format!(
            "{} of {} items streamed (its share of --transport-budget ran out)",
            s.items, s.planned
        ));
    }
    notes.join("; ").replace('|', "\\|")
}

fn results_back(md: &mut String, r: &Results) {
    if r.results_back.is_empty() {
        return;
    }
    md.push_str("### Results back\n\nA worker that renders a page sends its HTML back: real rendered pages (written by the render-cost probe in this run's own directory) sent from a worker of each transport to the main interpreter, timed end to end — pickled in the worker and unpickled here, except `thread` (by reference). The verdicts add this per page to the payload's own round trips. The per-item columns are the same pages streamed back from busy workers: main is unpickling a page here, worker pickling it there.\n\n");
    md.push_str("| transport | results | pickled size p50 / max | idle round trip (latency) p50 / p99 | samples | main per item | worker per item | wall per item | note |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for b in &r.results_back {
        let mut sizes = b.result_bytes.clone();
        sizes.sort_unstable();
        let size = match (sizes.get(sizes.len().saturating_sub(1) / 2), sizes.last()) {
            (Some(&m), Some(&x)) => format!("{} / {}", bytes(m), bytes(x)),
            _ => "–".into(),
        };
        let [main, worker, wall] = stream_columns(b.stream.as_ref(), b.transport);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {main} | {worker} | {wall} | {} |",
            b.transport,
            b.results,
            size,
            if b.roundtrip_ns.samples > 0 {
                format!("{} / {}", nanos(b.roundtrip_ns.p50), nanos(b.roundtrip_ns.p99))
            } else {
                "–".into()
            },
            b.roundtrip_ns.samples,
            stream_note(b.reason.as_deref(), b.stream.as_ref(), b.stream_reason.as_deref())
        );
    }
    md.push('\n');
}

fn entry_points(md: &mut String, r: &Results) {
    readiness(md, r);
    if r.render_entry_points.is_empty() {
        return;
    }
    md.push_str("### Can the renderer run in a sub-interpreter?\n\nThe generator's render entry points imported in a fresh isolated sub-interpreter (own GIL), with every import from the entry point to the module that refuses:\n\n");
    for e in &r.render_entry_points {
        let _ = match e.isolated_ok {
            Some(true) => writeln!(md, "- `{}`: loads", e.module),
            None => writeln!(
                md,
                "- `{}`: not tried ({})",
                e.module,
                e.error
                    .as_deref()
                    .unwrap_or("this Python has no isolated sub-interpreters")
            ),
            Some(false) => writeln!(
                md,
                "- `{}`: **refused**: {}{}{}",
                e.module,
                e.chain.join(" → "),
                e.error.as_deref().map_or(String::new(), |x| format!(": {x}")),
                e.hint.as_deref().map_or(String::new(), |h| format!(". {h}"))
            ),
        };
    }
    md.push('\n');
}

/// Every module that keeps the render entry points and the payloads out of isolated
/// sub-interpreters, each found with the ones before it stubbed, and what the code asked of
/// the stubs while it imported.
fn readiness(md: &mut String, r: &Results) {
    let rows = readiness::analyze_rows(&r.render_entry_points, &r.imports);
    if !rows.iter().any(|row| row.loads == Some(false)) {
        return;
    }
    md.push_str("### Sub-interpreter readiness: every blocker

Each module imported in a fresh isolated sub-interpreter; on a refusal, the refusing module (for a private extension, the public module that imports it) is replaced by a recording stub and the import tried again in a new interpreter, until it loads (or 10 stubs). Stub uses: what the code read and called on the stubs while importing. Nothing is stubbed in any measured run.\n\n");
    md.push_str(&readiness::markdown_table(&rows));
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::super::testdata;
    use super::*;

    #[test]
    fn a_cut_phase_and_held_back_workers_are_said_in_the_verdict_and_the_environment() {
        let mut r = testdata::results();
        let md = render(&r);
        assert!(
            !md.contains("Cut by a time limit") && !md.contains("Fewer workers"),
            "{md}"
        );
        let env = section(&md, "Environment");
        assert!(
            env.contains(&format!("- Time limit, {}", r.limits[0].sentence())),
            "{env}"
        );
        assert!(
            env.contains("4 workers asked, 4 started per pool, 2 pools at once"),
            "{env}"
        );
        r.limits[0].cut = true;
        r.limits[0].done = 5;
        r.memory.workers = Some(crate::memory::WorkerMemory::plan(
            4,
            1,
            Some(2_000_000_000),
            Some(5_000_000_000),
            None,
        ));
        let md = render(&r);
        let verdict = section(&md, "Verdict");
        assert!(
            verdict.contains(&format!("> **Cut by a time limit:** {}.", r.limits[0].sentence())),
            "{verdict}"
        );
        assert!(verdict.contains("5 of 12 pages rendered"), "{verdict}");
        assert!(
            verdict.contains("> **Fewer workers for the memory:** 4 workers asked, 2 started: "),
            "{verdict}"
        );
    }

    #[test]
    fn the_default_start_method_is_said_with_its_rows_in_the_answer_and_the_environment() {
        let mut r = testdata::results();
        let md = render(&r);
        let line =
            "This Python's ProcessPoolExecutor() starts workers with spawn (measured: the process rows).";
        assert!(section(&md, "Answer").contains(line), "{md}");
        assert!(
            section(&md, "Environment")
                .contains("- Default multiprocessing start method: `spawn` (what `ProcessPoolExecutor()` starts workers with)"),
            "{md}"
        );
        r.python.default_start_method = Some("forkserver".into());
        let md = render(&r);
        assert!(
            md.contains("starts workers with forkserver (the forkserver rows, not measured in this run)."),
            "{md}"
        );
        r.python.default_start_method = None;
        assert!(!render(&r).contains("ProcessPoolExecutor"));
    }

    /// The text of section `heading` (a `## ` line) up to the next `## ` heading.
    fn section<'a>(md: &'a str, heading: &str) -> &'a str {
        let start = md
            .find(&format!("\n## {heading}\n"))
            .unwrap_or_else(|| panic!("no section {heading:?}"));
        let body = &md[start + 1..];
        let end = body[3..].find("\n## ").map_or(body.len(), |e| e + 3);
        &body[..end]
    }

    #[test]
    fn the_method_says_where_the_generator_ran_and_how_far_sizes_are_off() {
        let mut r = testdata::results();
        r.site.copy = SiteCopy {
            path: "/dev/shm/pc-1-0/s_".into(),
            seconds: 0.25,
            files: 19,
            bytes: 12_115,
            skipped: vec![],
            path_bytes_delta: 0,
            changed: vec![],
            changed_count: 0,
        };
        let md = render(&r);
        let method = section(&md, "Method");
        assert!(
            method.contains("The generator wrote nothing into the copy."),
            "{method}"
        );
        assert!(!method.contains("The rendered build wrote"), "{method}");
        assert!(
            method.contains("private copy of the site (19 files, 12.1 KB, copied in 0.25 s;"),
            "{method}"
        );
        assert!(method.contains("sizes are the site's own"), "{method}");
        r.site.copy.path_bytes_delta = 7;
        let md = render(&r);
        assert!(section(&md, "Method").contains("every path string pickled from it is +7 bytes off"));

        // What the generator wrote into the copy and into a rendered build's copy: the first
        // five named, the rest counted.
        r.site.copy.record_changes(vec![
            "modified templates".into(),
            "added templates/__pycache__".into(),
        ]);
        r.site
            .record_build_changes((0..8).map(|n| format!("added public/p{n}.html")).collect());
        let method = render(&r);
        let method = section(&method, "Method");
        assert!(
            method.contains(
                "The generator changed the copy (what it would have changed in the site): 2 \
                 entries: `modified templates`, `added templates/__pycache__`."
            ),
            "{method}"
        );
        assert!(
            method.contains(
                "would write into the site): 8 entries: `added public/p0.html`, \
                 `added public/p1.html`, `added public/p2.html`, `added public/p3.html`, \
                 `added public/p4.html` and 3 more."
            ),
            "{method}"
        );
    }

    #[test]
    fn sections_come_in_order_verdict_first() {
        let md = render(&testdata::results());
        let order = [
            "Answer",
            "Verdict",
            "Summary",
            "What a worker must be able to import",
            "Why",
            "Transports",
            "Growth: cost against page count",
            "Charts",
            "Environment",
            "Method",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|h| {
                md.find(&format!("\n## {h}\n"))
                    .unwrap_or_else(|| panic!("no {h}"))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    }

    #[test]
    fn answer_verdict_and_strategies_carry_the_documents_text() {
        let r = testdata::results();
        let md = render(&r);
        assert!(md.starts_with(&format!(
            "# picklecost: {}\n\n{} site, {} pages, stage `{}`, pickle protocol {}, measured {}.\n",
            r.site.path, r.site.generator, r.site.pages, r.site.stage, r.settings.protocol, r.python.version
        )));
        let answer = section(&md, "Answer");
        assert!(answer.contains(&format!("**Is the Site picklable cheaply?** {}\n", r.answer)));
        let table_rows = answer
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| strategy"))
            .count();
        assert_eq!(table_rows, r.verdicts.len());
        for v in &r.verdicts {
            let share = pct(v.transfer_share);
            assert!(
                answer.contains(&format!(
                    "| {} | {} | {} | {share} | {} | {} | {} | {} | **{}** | {} |",
                    v.strategy,
                    v.transport,
                    v.workers,
                    pct(v.setup_share),
                    speedup(v.predicted_speedup),
                    speedup(v.predicted_check_speedup),
                    measured(v),
                    v.class.word(),
                    v.why.replace('|', "\\|")
                )),
                "{answer}"
            );
        }
        let verdict = section(&md, "Verdict");
        assert!(verdict.contains(&r.verdict.text));
        assert_eq!(
            verdict.contains("drags the Site's object graph along"),
            r.verdict.page_drags_site
        );
    }

    #[test]
    fn summary_and_imports_list_every_payload() {
        let r = testdata::results();
        let md = render(&r);
        let summary = section(&md, "Summary");
        for p in &r.payloads {
            let size = p.bytes.as_ref().map_or("–".to_string(), |b| bytes(b.median));
            assert!(
                summary.contains(&format!("| `{}` |", p.name))
                    && summary.contains(&format!("| {} of {} | {size} |", p.count, p.objects)),
                "{} in {summary}",
                p.name
            );
        }
        let page = &r.payloads[1];
        assert!(summary.contains(&format!(
            "### `page`: objects that failed to pickle ({})",
            page.failures_count
        )));
        assert!(summary.contains(&format!(
            "- `{}`: {}",
            page.failed_objects[0].key, page.failed_objects[0].error
        )));
        let imports = section(&md, "What a worker must be able to import");
        let site = &r.payloads[0];
        assert!(imports.contains(&format!(
            "- `site` ({} pickle(s) inspected; not plain data): {} globals — `{}`",
            site.inspected,
            site.import_closure.len(),
            site.import_closure[0]
        )));
        assert!(imports.contains(&format!("**unsafe to load**: {}", site.unsafe_globals.join(", "))));
    }

    #[test]
    fn why_explains_culprits_bytes_drag_and_the_suggestion() {
        let r = testdata::results();
        let md = render(&r);
        let why = section(&md, "Why");
        let site = &r.payloads[0];
        assert!(why.contains(&format!(
            "<details><summary>Every culprit ({})",
            site.failures.len()
        )));
        for c in &site.root_causes {
            assert!(
                why.contains(&format!("| `{}` | `{}` |", c.pattern, c.type_name))
                    && why.contains(&format!("| {} | `{}` |", c.count, c.example))
            );
        }
        let search = site.failure_search.as_ref().unwrap();
        assert!(why.contains(&format!(
            "{} objects visited; the search was cut short: {}.",
            search.visited,
            search.limits.join("; ")
        )));
        assert!(why.contains(&crate::verdict::after_repairs(site.repaired.as_ref().unwrap())));
        let a = site.attribution.as_ref().unwrap();
        assert!(why.contains(&format!(
            "{} bytes in all ({} by the C pickler)",
            a.total_bytes, a.pickle_bytes
        )));
        assert!(why.contains(&format!(
            "| `{}` | `{}` | {} | {} |",
            a.top_paths[0].path,
            a.top_paths[0].type_name,
            bytes(a.top_paths[0].inclusive_bytes),
            bytes(a.top_paths[0].exclusive_bytes)
        )));
        for d in &r.payloads[1].drag {
            assert!(why.contains(&format!(
                "| `{}` | {} | {} |",
                d.path,
                d.reaches,
                d.bytes.map_or("–".into(), bytes)
            )));
        }
        let sg = r.suggestion.as_ref().unwrap();
        assert!(why.contains(&format!("```\n{}\n```", sg.options)));
        assert!(why.contains(&format!(
            "measured as `page_suggested`: {}.",
            bytes(sg.measured_median_bytes.unwrap())
        )));
        assert!(
            why.contains("| `_site` | drags the Site \\| graph |"),
            "pipes escaped in table cells"
        );
        let cmp = sg.generator_comparison.as_ref().unwrap();
        assert!(why.contains(&format!("In both: `{}`.", cmp.both[0])));
        assert!(why.contains(&format!(
            "- `page`: could not explain: {}",
            r.payloads[1].diagnosis_errors[0]
        )));

        let mut off = r.clone();
        off.settings.diagnose = false;
        assert_eq!(
            section(&render(&off), "Why"),
            "## Why\n\nNot computed (`--no-diagnose`).\n"
        );
    }

    #[test]
    fn transports_results_back_imports_and_render_cost() {
        let r = testdata::results();
        let md = render(&r);
        let t = section(&md, "Transports");
        for row in &r.transports {
            assert!(
                t.contains(&format!("| {} | `{}` |", row.name, row.payload)),
                "{t}"
            );
        }
        // The idle round trip is named as latency; beside it the per-item cost of a busy pool.
        assert!(t.contains("| idle round trip (latency) p50 / p99 | samples | main per item | worker per item | wall per item |"), "{t}");
        for row in r.transports.iter().filter(|row| row.stream.is_some()) {
            let s = row.stream.as_ref().unwrap();
            let worker = match row.name {
                crate::model::TransportKind::Thread => "– (by reference)".to_string(),
                _ => nanos(s.worker_ns_mean().round() as u64),
            };
            let line = t
                .lines()
                .find(|l| l.starts_with(&format!("| {} | `{}` |", row.name, row.payload)))
                .unwrap();
            assert!(
                line.contains(&format!(
                    "| {} | {} | {} | {} |",
                    row.roundtrip_ns.samples,
                    nanos(s.main_ns_mean().round() as u64),
                    worker,
                    nanos(s.wall_ns_mean().round() as u64)
                )),
                "{line}"
            );
        }
        let back = &r.results_back[0];
        let s = back.stream.as_ref().unwrap();
        assert!(t.contains(&format!(
            "| {} | {} | {} |",
            nanos(s.main_ns_mean().round() as u64),
            nanos(s.worker_ns_mean().round() as u64),
            nanos(s.wall_ns_mean().round() as u64)
        )));
        let mut sizes = back.result_bytes.clone();
        sizes.sort_unstable();
        assert!(t.contains(&format!(
            "| {} | {} | {} / {} |",
            back.transport,
            back.results,
            bytes(sizes[(sizes.len() - 1) / 2]),
            bytes(*sizes.last().unwrap())
        )));
        let entry = &r.render_entry_points[0];
        assert!(t.contains(&format!(
            "- `{}`: **refused**: {}",
            entry.module,
            entry.chain.join(" → ")
        )));
        assert!(t.contains(&format!(
            "| `{}` | `{}` | **no** | yes |",
            r.imports[0].payload, r.imports[0].module
        )));
        let render_ns = r.render_ns.as_ref().unwrap();
        assert!(t.contains(&format!(
            "{} pages rendered (a sample): p50 {}",
            render_ns.samples,
            nanos(render_ns.p50)
        )));
        // Only payloads with round trips get a transport chart.
        assert!(t.contains(&svg::transport_chart(PayloadKind::PageSubset)));
        assert!(!t.contains(&svg::transport_chart(PayloadKind::Site)));
    }

    #[test]
    fn a_cut_or_missing_stream_is_said_in_the_note() {
        let cut = StreamCost {
            in_flight: crate::settings::tuning::STREAM_IN_FLIGHT,
            items: 12,
            planned: 64,
            main_ns: vec![1_000; 12],
            ..Default::default()
        };
        assert_eq!(
            stream_note(None, Some(&cut), None),
            "12 of 64 items streamed (its share of --transport-budget ran out)"
        );
        assert_eq!(
            stream_note(Some("not | here"), None, Some("TransportError: gone")),
            "not \\| here; no per-item figures: TransportError: gone"
        );
        let whole = StreamCost { planned: 12, ..cut };
        assert_eq!(stream_note(None, Some(&whole), None), "");
        let lowered = StreamCost {
            in_flight: 1,
            ..whole.clone()
        };
        assert_eq!(
            stream_note(None, Some(&lowered), None),
            "1 request(s) in flight per worker: more pickles waiting would not fit half the memory"
        );
        // No items: dashes, not a zero cost.
        let empty = StreamCost::default();
        assert_eq!(
            stream_columns(Some(&empty), TransportKind::Process),
            ["–", "–", "–"]
        );
        let shared = StreamCost {
            worker_ns: Vec::new(),
            ..whole
        };
        assert_eq!(
            stream_columns(Some(&shared), TransportKind::Fork)[1],
            "– (shared)"
        );
    }

    #[test]
    fn growth_charts_pages_environment_and_method() {
        let r = testdata::results();
        let md = render(&r);
        let g = r.growth.as_ref().unwrap();
        let growth = section(&md, "Growth: cost against page count");
        assert_eq!(
            growth.matches("| `page_subset` |").count(),
            g.points.len() + g.fits.len() + g.projections.len()
        );
        assert!(growth.contains(&format!("| {:.3} |", g.fits[0].r2)));
        assert!(growth.contains(&crate::units::thousands(g.projections[0].pages)));
        assert!(growth.contains(&format!("- not measured: {}", g.errors[0])));

        let charts = section(&md, "Charts");
        for p in &r.payloads {
            assert_eq!(
                charts.contains(&svg::size_chart(p.name)),
                p.count > 0,
                "{}",
                p.name
            );
        }
        // The five largest page pickles and the three smallest.
        let mut sizes: Vec<u64> = r.payloads[1].sizes.iter().map(|s| s.bytes).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let listed: Vec<u64> = charts
            .lines()
            .filter(|l| l.starts_with("| `content/") || l.starts_with("| `.bengal/"))
            .map(|l| {
                l.rsplit(" | ")
                    .next()
                    .unwrap()
                    .trim_end_matches(" |")
                    .parse()
                    .unwrap()
            })
            .collect();
        let want: Vec<u64> = sizes[..5]
            .iter()
            .chain(&sizes[sizes.len() - 3..])
            .copied()
            .collect();
        assert_eq!(listed, want);
        // A virtual page is named by the generator's own name and marked; real ones are not.
        assert!(
            charts.contains("| `.bengal/generated/tags/python/index.md` (virtual) | 599000 |"),
            "{charts}"
        );
        assert!(!charts.contains("content/post-8.md` (virtual)"), "{charts}");

        let env = section(&md, "Environment");
        assert!(env.contains(&format!(
            "- CPU: {} ({} logical CPUs)",
            r.environment.cpu, r.environment.cpu_count
        )));
        assert!(env.contains(&format!("peak {}", bytes(r.memory.peak.unwrap()))));
        assert!(env.contains(&format!("- Command: `{}`", r.environment.command_line)));
        let method = section(&md, "Method");
        assert!(method.contains(&format!("a plain dict of `{}`", r.settings.fields.join("`, `"))));
        assert!(method.contains(&format!(
            "; `page_generator` = {}",
            r.site.generator_payload.as_deref().unwrap()
        )));
        for p in &r.payloads {
            assert!(method.contains(&format!("- `{}`: {}.", p.name, p.selection)));
        }
        assert!(method.contains(&format!(
            "- Run time: {:.2} s in all (load",
            r.timing.total_seconds
        )));
    }
}
