//! report.md's "What rendering reads" section: the read set per template, and the proof (or why
//! there is none).
use crate::model::PayloadKind;
use crate::model::readset::{PathCount, ReadSet, TemplateReads};
use crate::model::results::Results;
use crate::units::{bytes, nanos};
use std::fmt::Write;

/// " (read outside the read set: `a`, `b`)", or nothing.
fn outside(paths: &[String]) -> String {
    if paths.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = paths
        .iter()
        .map(|p| format!("`{}`", p.replace('`', "'")))
        .collect();
    format!(" (read outside the read set: {})", listed.join(", "))
}

/// Paths listed per template and kind before "… and N more".
const MOST_PATHS: usize = 25;

pub(crate) fn section(md: &mut String, r: &Results) {
    let Some(rs) = &r.read_set else {
        if let Some(note) = &r.read_set_note {
            let _ = writeln!(md, "## What rendering reads\n\nNot traced: {note}\n");
        }
        return;
    };
    md.push_str("## What rendering reads\n\n");
    let _ = writeln!(
        md,
        "The render-cost probe's sampled pages rendered in a forked copy of the tool (before the \
         payloads were measured, which the renders leave untouched), each rendered once more after \
         its timed render with the page, and the site wherever the renderer holds it, behind a \
         recording proxy: every attribute, key, item and call read through them, and through what \
         they hand out, is a path below. {}\n",
        rs.line()
    );
    comparison(md, r);
    tracing_check(md, rs);
    if !rs.produced.is_empty() {
        let _ = writeln!(
            md,
            "Written by the render before it read them (its outputs, not its inputs): {}.\n",
            ticked(rs.produced.iter().map(String::as_str))
        );
    }
    for t in &rs.templates {
        template(md, t);
    }
    proof(md, r);
}

fn proof(md: &mut String, r: &Results) {
    let Some(p) = &r.proof else {
        let _ = writeln!(
            md,
            "**Proof**: none — {}\n",
            r.proof_note.as_deref().unwrap_or("not made")
        );
        return;
    };
    let _ = writeln!(
        md,
        "**Proof**: each traced page rendered again, in the tracing process (a fork of the tool), \
         by the same renderer from stand-ins of the page and the site that hold only the read \
         set's data (a read outside it fails with its path, which is added while the real page \
         or site has it, up to 6 renders a page; {} renders in all): {}.\n",
        p.rounds,
        p.line()
    );
    for d in &p.different {
        let _ = writeln!(
            md,
            "- {} differs at line {}: real `{}`, from the read set `{}`{}",
            named(&d.page, d.virtual_page),
            d.line,
            d.real.replace('`', "'"),
            d.traced.replace('`', "'"),
            outside(&d.outside)
        );
    }
    for f in &p.failed {
        let _ = writeln!(
            md,
            "- {} failed: {}",
            named(&f.page, f.virtual_page),
            f.error.replace('`', "'")
        );
    }
    if !p.added.is_empty() {
        let _ = writeln!(
            md,
            "- added by the fixpoint: {}",
            ticked(p.added.iter().map(String::as_str))
        );
    }
    md.push('\n');
}

/// `page_read` (+ `site_read` once per worker) beside the suggestion and the generator's payload.
fn comparison(md: &mut String, r: &Results) {
    let Some(c) = &r.read_comparison else {
        return;
    };
    let cost = |kind: PayloadKind| {
        let p = r.payloads.iter().find(|p| p.name == kind);
        (
            p.and_then(|p| p.bytes.as_ref())
                .map_or("–".into(), |b| bytes(b.median)),
            p.filter(|p| p.roundtrip_ns.samples > 0)
                .map_or("–".into(), |p| nanos(p.roundtrip_ns.p50)),
        )
    };
    let list = |names: &[String]| {
        if names.is_empty() {
            "–".to_string()
        } else {
            ticked(names.iter().map(String::as_str))
        }
    };
    md.push_str(
        "`page_read` is the page data the renders read, per page; `site_read` what they read from \
         the site, once per worker. Beside the heuristic suggestion and the generator's own payload:\n\n\
         | payload | fields | not in `page_read` | in `page_read`, not here | size p50 | round trip p50 |\n\
         |---|---|---|---|---:|---:|\n",
    );
    let (size, trip) = cost(PayloadKind::PageRead);
    let _ = writeln!(md, "| `page_read` | {} | | | {size} | {trip} |", c.read.len());
    let (size, trip) = cost(PayloadKind::SiteRead);
    let _ = writeln!(md, "| `site_read` (once per worker) | – | | | {size} | {trip} |");
    for (kind, fields, not_read, read_not) in [
        (
            PayloadKind::PageSuggested,
            &c.suggested,
            &c.suggested_not_read,
            &c.read_not_suggested,
        ),
        (
            PayloadKind::PageGenerator,
            &c.generator,
            &c.generator_not_read,
            &c.read_not_generator,
        ),
    ] {
        let Some(fields) = fields else { continue };
        let (size, trip) = cost(kind);
        let _ = writeln!(
            md,
            "| `{kind}` | {} | {} | {} | {size} | {trip} |",
            fields.len(),
            list(not_read),
            list(read_not)
        );
    }
    md.push('\n');
}

/// A page in a list line: its name in code, and " (virtual):" after it where the generator made
/// it (the mark every page list of the report carries).
fn named(page: &str, virtual_page: bool) -> String {
    let mark = if virtual_page { " (virtual):" } else { "" };
    format!("`{page}`{mark}")
}

fn tracing_check(md: &mut String, rs: &ReadSet) {
    for d in &rs.different {
        let _ = writeln!(
            md,
            "- traced render of {} differs from its real render at line {}: real `{}`, traced `{}`",
            named(&d.page, d.virtual_page),
            d.line,
            d.real.replace('`', "'"),
            d.traced.replace('`', "'")
        );
    }
    for f in &rs.failed {
        let _ = writeln!(
            md,
            "- traced render of {} failed: {}",
            named(&f.page, f.virtual_page),
            f.error
        );
    }
    if !rs.different.is_empty() || !rs.failed.is_empty() {
        md.push('\n');
    }
}

fn template(md: &mut String, t: &TemplateReads) {
    let _ = writeln!(md, "### Template `{}` ({} page(s) traced)\n", t.template, t.pages);
    let fields: Vec<String> = t
        .page_fields
        .iter()
        .map(|f| format!("`{}` ×{}", f.field, f.count))
        .collect();
    let _ = writeln!(
        md,
        "- page fields ({}): {}",
        fields.len(),
        if fields.is_empty() {
            "none".into()
        } else {
            fields.join(", ")
        }
    );
    if !t.page_calls.is_empty() {
        let calls: Vec<String> = t
            .page_calls
            .iter()
            .map(|f| format!("`{}()` ×{}", f.field, f.count))
            .collect();
        let _ = writeln!(md, "- page methods called: {}", calls.join(", "));
    }
    paths(md, "paths into the page", &t.page_paths);
    paths(md, "site-wide (once per worker)", &t.site_paths);
    paths(md, "other pages' data", &t.other_pages);
    md.push('\n');
}

fn paths(md: &mut String, what: &str, list: &[PathCount]) {
    let mut shown: Vec<String> = list
        .iter()
        .take(MOST_PATHS)
        .map(|p| {
            format!(
                "`{}` ×{}{}",
                p.path,
                p.count,
                if p.varies { " (varies per page)" } else { "" }
            )
        })
        .collect();
    if list.len() > MOST_PATHS {
        shown.push(format!("… and {} more", list.len() - MOST_PATHS));
    }
    let _ = writeln!(
        md,
        "- {what} ({}): {}",
        list.len(),
        if shown.is_empty() {
            "none".into()
        } else {
            shown.join(", ")
        }
    );
}

fn ticked<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::readset::{FieldCount, TraceDifference};

    #[test]
    fn the_section_lists_each_template_and_says_why_there_is_no_proof() {
        let mut r = crate::report::testdata::results();
        let count = |path: &str, count, varies| PathCount {
            path: path.into(),
            count,
            varies,
        };
        let t = TemplateReads {
            template: "page.html".into(),
            pages: 2,
            page_fields: vec![FieldCount {
                field: "title".into(),
                count: 4,
            }],
            site_paths: vec![count("site.menu['main'][*].active", 2, true)],
            other_pages: vec![count("page.next.title", 1, false)],
            ..Default::default()
        };
        r.read_set = Some(ReadSet {
            pages: 2,
            identical: 1,
            different: vec![TraceDifference {
                page: "a.md".into(),
                line: 3,
                real: "<a>".into(),
                traced: "<b>".into(),
                outside: vec![],
                virtual_page: false,
            }],
            page_fields: t.page_fields.clone(),
            site_paths: t.site_paths.clone(),
            other_pages: t.other_pages.clone(),
            produced: vec!["rendered_html".into()],
            templates: vec![t],
            ..Default::default()
        });
        r.proof_note = Some("not made: because".into());
        let mut with_proof = r.clone();
        let mut md = String::new();
        section(&mut md, &r);
        for want in [
            "## What rendering reads",
            "identical to the real ones: 1 of 2",
            "### Template `page.html` (2 page(s) traced)",
            "- page fields (1): `title` ×4",
            "`site.menu['main'][*].active` ×2 (varies per page)",
            "- other pages' data (1): `page.next.title` ×1",
            "traced render of `a.md` differs from its real render at line 3",
            "Written by the render before it read them (its outputs, not its inputs): `rendered_html`.",
            "**Proof**: none — not made: because",
        ] {
            assert!(md.contains(want), "{want:?} not in {md}");
        }
        assert!(rs_line_is_one_line(r.read_set.as_ref().unwrap()));
        with_proof.proof_note = None;
        with_proof.proof = Some(crate::model::readset::Proof {
            pages: 3,
            identical: 1,
            failed: vec![crate::model::readset::TraceFailure {
                page: "b.md".into(),
                error: "TypeError: x".into(),
                ..Default::default()
            }],
            different: vec![
                TraceDifference {
                    page: "c.md".into(),
                    line: 1,
                    real: "<!DOCTYPE html>".into(),
                    traced: "<!doctype html>".into(),
                    outside: vec!["page.template".into()],
                    ..Default::default()
                },
                TraceDifference {
                    page: "tags/index.md".into(),
                    virtual_page: true,
                    line: 4,
                    real: "a".into(),
                    traced: "b".into(),
                    ..Default::default()
                },
            ],
            added: vec!["page.hidden".into()],
            rounds: 3,
        });
        let mut md = String::new();
        section(&mut md, &with_proof);
        for want in [
            "renders identically from the read set alone: 1 of 3 page(s); 1 failed; 2 differ; 1 path(s) added by the fixpoint",
            // A page the generator made carries the report's virtual mark.
            "- `tags/index.md` (virtual): differs at line 4: real `a`, from the read set `b`",
            "- `b.md` failed: TypeError: x",
            "- `c.md` differs at line 1: real `<!DOCTYPE html>`, from the read set `<!doctype html>` \
             (read outside the read set: `page.template`)",
            "- added by the fixpoint: `page.hidden`",
        ] {
            assert!(md.contains(want), "{want:?} not in {md}");
        }
    }

    fn rs_line_is_one_line(rs: &ReadSet) -> bool {
        !rs.line().contains('\n')
    }
}
