//! A comparison as a terminal table or a pull-request comment (Markdown). Every number goes
//! through `units`.
use super::{Comparison, OpChange, PayloadRow, SizeChange, Stat};
use crate::units::{change, nanos, thousands};

fn exact(n: u64) -> String {
    format!("{} B", thousands(n))
}

fn ratio_of(s: &Stat) -> String {
    match s.ratio {
        Some(r) => change(r),
        None if s.after == 0 => "0%".into(),
        None => "new".into(),
    }
}

fn arrow(before: String, after: String) -> String {
    format!("{before} → {after}")
}

/// One line: what changed, for the top of either format.
pub fn headline(c: &Comparison) -> String {
    let sized: Vec<&SizeChange> = c.payloads.iter().filter_map(|p| p.size.as_ref()).collect();
    let size_changed: Vec<&str> = c
        .payloads
        .iter()
        .filter(|p| p.size.as_ref().is_some_and(|s| s.significant))
        .map(|p| p.name.as_str())
        .collect();
    let size = if size_changed.is_empty() {
        format!("sizes identical (exact) for all {} payloads", sized.len())
    } else {
        format!("size changed: {}", size_changed.join(", "))
    };
    let moved: Vec<String> = c
        .payloads
        .iter()
        .flat_map(|p| {
            p.latency.iter().filter(|o| o.significant).map(move |o| {
                let shift = o.test.map_or("n/a".into(), |t| change(t.shift_ratio));
                format!("{} {} {} ({shift})", p.name, o.op, o.finding)
            })
        })
        .collect();
    let latency = match moved.len() {
        0 => format!("latency: no significant change ({} tests)", c.test.tests),
        n if n <= 3 => format!("latency: {}", moved.join(", ")),
        n => format!(
            "latency: {n} of {} tests changed significantly: {}, ...",
            c.test.tests,
            moved[..3].join(", ")
        ),
    };
    format!("{size}; {latency}")
}

fn size_cells(p: &PayloadRow, s: &SizeChange) -> Vec<String> {
    let what = if s.identical {
        "identical".to_string()
    } else if s.matched_objects > 0 {
        format!(
            "changed: {} of {} objects differ",
            s.changed_objects, s.matched_objects
        )
    } else {
        "changed".to_string()
    };
    vec![
        p.name.clone(),
        arrow(s.objects.before.to_string(), s.objects.after.to_string()),
        exact(s.total.before),
        exact(s.total.after),
        ratio_of(&s.total),
        arrow(exact(s.p50.before), exact(s.p50.after)),
        arrow(exact(s.max.before), exact(s.max.after)),
        what,
    ]
}

/// One size row per payload both runs sized.
fn size_rows(c: &Comparison) -> Vec<Vec<String>> {
    c.payloads
        .iter()
        .filter_map(|p| p.size.as_ref().map(|sz| size_cells(p, sz)))
        .collect()
}

/// One latency row per payload and operation.
fn latency_rows(c: &Comparison) -> Vec<Vec<String>> {
    c.payloads
        .iter()
        .flat_map(|p| p.latency.iter().map(move |o| latency_cells(p, o)))
        .collect()
}

fn latency_cells(p: &PayloadRow, o: &OpChange) -> Vec<String> {
    let (shift, machine, pv) = match o.test {
        Some(t) => (
            change(t.shift_ratio),
            t.machine_speed_ratio.map_or("n/a".into(), change),
            format!("{:.1e}", t.p_value),
        ),
        None => ("n/a".into(), "n/a".into(), "n/a".into()),
    };
    let finding = match &o.untested {
        Some(why) => format!("untested ({why})"),
        None if o.within_noise => format!("{} (within noise)", o.finding),
        None => o.finding.to_string(),
    };
    vec![
        p.name.clone(),
        o.op.to_string(),
        arrow(nanos(o.p50.before), nanos(o.p50.after)),
        ratio_of(&o.p50),
        arrow(nanos(o.p99.before), nanos(o.p99.after)),
        ratio_of(&o.p99),
        arrow(o.samples.before.to_string(), o.samples.after.to_string()),
        machine,
        shift,
        pv,
        finding,
    ]
}

const SIZE_HEADER: [&str; 8] = [
    "payload",
    "objects",
    "total before",
    "total after",
    "ratio",
    "p50",
    "max",
    "size",
];
const SIZE_RIGHT: [bool; 8] = [false, true, true, true, true, false, false, false];
const LAT_HEADER: [&str; 11] = [
    "payload", "op", "p50", "ratio", "p99", "ratio", "samples", "machine", "shift", "p", "latency",
];
const LAT_RIGHT: [bool; 11] = [
    false, false, false, true, false, true, false, true, true, true, false,
];

fn other_rows(c: &Comparison) -> Vec<String> {
    c.payloads
        .iter()
        .filter_map(|p| {
            if p.presence != "both" {
                Some(format!("{}: {}", p.name, p.presence))
            } else if p.size.is_none() {
                let word = |x: Option<bool>| {
                    if x == Some(true) {
                        "picklable"
                    } else {
                        "not picklable"
                    }
                };
                Some(format!(
                    "{}: {} → {}",
                    p.name,
                    word(p.picklable.before),
                    word(p.picklable.after)
                ))
            } else {
                None
            }
        })
        .collect()
}

fn method_line(c: &Comparison) -> String {
    format!(
        "Latency: Mann-Whitney U rank test on the samples reconstructed from histograms/*.hgrm, {} tests, each at α = {}/{} (Bonferroni); machine = how much slower the machine itself ran a fixed reference object measured alongside the payload (after/before); shift = Hodges-Lehmann estimate of after/before, with the machine's change divided out; shifts under {} count as run-to-run noise.",
        c.test.tests,
        c.test.alpha,
        c.test.tests.max(1),
        crate::units::percent_sig(c.test.noise)
    )
}

pub fn table(c: &Comparison) -> String {
    let mut s = format!("picklecost compare: {} → {}\n", c.before, c.after);
    s.push_str(&format!("{}\n\n", headline(c)));
    if !c.flags.is_empty() {
        s.push_str("! not like for like (compared anyway):\n");
        for f in &c.flags {
            s.push_str(&format!("    {}: {} → {}\n", f.what, f.before, f.after));
        }
        s.push('\n');
    }
    if c.verdict_changes.is_empty() {
        if c.verdicts_unchanged == 0 {
            s.push_str("Verdict classes: none in these runs\n\n");
        } else {
            s.push_str(&format!(
                "Verdict classes: all {} unchanged\n\n",
                c.verdicts_unchanged
            ));
        }
    } else {
        s.push_str("Verdict classes that changed:\n");
        for v in &c.verdict_changes {
            s.push_str(&format!(
                "    {} via {}: {} → {}   ({})\n",
                v.payload,
                v.transport,
                v.before.as_deref().unwrap_or("not measured"),
                v.after.as_deref().unwrap_or("not measured"),
                v.strategy
            ));
        }
        if c.verdicts_unchanged > 0 {
            s.push_str(&format!("    ({} unchanged)\n", c.verdicts_unchanged));
        }
        s.push('\n');
    }
    let rows = size_rows(c);
    if !rows.is_empty() {
        s.push_str("Size (exact bytes: any difference is a change)\n");
        s.push_str(&aligned(&SIZE_HEADER, &rows, &SIZE_RIGHT));
        s.push('\n');
    }
    let rows = latency_rows(c);
    if !rows.is_empty() {
        s.push_str("Latency (before → after)\n");
        s.push_str(&aligned(&LAT_HEADER, &rows, &LAT_RIGHT));
        s.push_str(&format!("  {}\n\n", method_line(c)));
    }
    for line in other_rows(c) {
        s.push_str(&format!("{line}\n"));
    }
    for n in &c.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    for l in &c.limits {
        if l.exceeded {
            s.push_str(&format!(
                "--fail-if {}: EXCEEDED by {}\n",
                l.limit,
                l.exceeded_by.join("; ")
            ));
        } else if !l.checked.is_empty() {
            s.push_str(&format!("--fail-if {}: within the limit\n", l.limit));
        }
    }
    s
}

fn aligned(header: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let width: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = width[i].saturating_sub(cell.chars().count());
                if right[i] {
                    format!("{}{cell}", " ".repeat(pad))
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                }
            })
            .collect();
        format!("  {}\n", parts.join("  ").trim_end())
    };
    let mut s = line(header.to_vec());
    for r in rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn md_table(header: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut s = format!("| {} |\n|", header.join(" | "));
    for &r in right {
        s.push_str(if r { " ---: |" } else { " --- |" });
    }
    s.push('\n');
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_escape(c)).collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}

pub fn markdown(c: &Comparison) -> String {
    let mut s = String::from("### picklecost compare\n\n");
    s.push_str(&format!(
        "`{}` → `{}`\n\n**{}**\n\n",
        md_escape(&c.before),
        md_escape(&c.after),
        md_escape(&headline(c))
    ));
    if c.failed {
        for l in c.limits.iter().filter(|l| l.exceeded) {
            s.push_str(&format!(
                "> [!CAUTION]\n> `--fail-if {}` exceeded: {}\n\n",
                md_escape(&l.limit),
                md_escape(&l.exceeded_by.join("; "))
            ));
        }
    }
    if !c.flags.is_empty() {
        s.push_str("> [!WARNING]\n> Not like for like (compared anyway):");
        for f in &c.flags {
            s.push_str(&format!(
                " {} `{}` → `{}`;",
                f.what,
                md_escape(&f.before),
                md_escape(&f.after)
            ));
        }
        s.push_str("\n\n");
    }
    if !c.verdict_changes.is_empty() {
        s.push_str("**Verdict classes that changed**\n\n");
        for v in &c.verdict_changes {
            s.push_str(&format!(
                "- {} via {}: {} → **{}** ({})\n",
                md_escape(&v.payload),
                md_escape(&v.transport),
                md_escape(v.before.as_deref().unwrap_or("not measured")),
                md_escape(v.after.as_deref().unwrap_or("not measured")),
                md_escape(&v.strategy)
            ));
        }
        s.push('\n');
    } else if c.verdicts_unchanged > 0 {
        s.push_str(&format!(
            "Verdict classes: all {} unchanged.\n\n",
            c.verdicts_unchanged
        ));
    }
    let rows = size_rows(c);
    if !rows.is_empty() {
        s.push_str("**Size** (exact bytes)\n\n");
        s.push_str(&md_table(&SIZE_HEADER, &rows, &SIZE_RIGHT));
        s.push('\n');
    }
    let rows = latency_rows(c);
    if !rows.is_empty() {
        s.push_str("**Latency** (before → after)\n\n");
        s.push_str(&md_table(&LAT_HEADER, &rows, &LAT_RIGHT));
        s.push('\n');
    }
    for line in other_rows(c).iter().chain(c.notes.iter()) {
        s.push_str(&format!("- {}\n", md_escape(line)));
    }
    s.push_str(&format!(
        "\n<details><summary>Method</summary>\n\n{} Sizes are exact, so any size difference is a change.\n\n</details>\n",
        method_line(c)
    ));
    s
}
