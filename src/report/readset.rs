//! report.md's "What rendering reads" section: the read set per template, and the proof (or why
//! there is none).
use crate::model::readset::{PathCount, ReadSet, TemplateReads};
use crate::model::results::Results;
use std::fmt::Write;

/// Paths listed per template and kind before "… and N more".
const MOST_PATHS: usize = 25;

pub(crate) fn section(md: &mut String, r: &Results) {
    let Some(rs) = &r.read_set else {
        return;
    };
    md.push_str("## What rendering reads\n\n");
    let _ = writeln!(
        md,
        "Each sampled page rendered once more after its timed render, untimed, with the page \
         (and the template context's `site`) behind a recording proxy: every attribute, key, item \
         and call read through it, and through what it hands out, is a path below. \
         {}\n",
        rs.line()
    );
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
    let _ = writeln!(
        md,
        "**Proof** (rendering the sampled pages from the read set alone, in a worker): {}\n",
        match &r.proof {
            Some(p) => format!(
                "renders identically from the read set: {} of {} pages",
                p.identical, p.pages
            ),
            None => format!("none — {}", r.proof_note.as_deref().unwrap_or("not made")),
        }
    );
}

fn tracing_check(md: &mut String, rs: &ReadSet) {
    for d in &rs.different {
        let _ = writeln!(
            md,
            "- traced render of `{}` differs from its real render at line {}: real `{}`, traced `{}`",
            d.page,
            d.line,
            d.real.replace('`', "'"),
            d.traced.replace('`', "'")
        );
    }
    for f in &rs.failed {
        let _ = writeln!(md, "- traced render of `{}` failed: {}", f.page, f.error);
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
            }],
            page_fields: t.page_fields.clone(),
            site_paths: t.site_paths.clone(),
            other_pages: t.other_pages.clone(),
            produced: vec!["rendered_html".into()],
            templates: vec![t],
            ..Default::default()
        });
        r.proof_note = Some("not made: because".into());
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
            "none — not made: because",
        ] {
            assert!(md.contains(want), "{want:?} not in {md}");
        }
        assert!(rs_line_is_one_line(r.read_set.as_ref().unwrap()));
    }

    fn rs_line_is_one_line(rs: &ReadSet) -> bool {
        !rs.line().contains('\n')
    }
}
