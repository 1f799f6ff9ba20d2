//! The verdicts, from measured numbers only: the one-paragraph comparison of `site`, `page` and
//! `page_subset`, the one-line answer, and (in `strategies`) the per-strategy rows.
pub mod check;
pub mod growth;
pub mod predict;
pub mod scale;
pub mod strategies;
#[cfg(test)]
pub mod testdata;
pub mod totals;

pub use growth::projection;

use crate::model::PayloadKind;
use crate::model::phase_limit::{LimitedPhase, PhaseLimit};
use crate::model::results::{PayloadJson, RepairedJson, SuggestionJson, Verdict};
use crate::model::transport::VerdictRow;
use crate::units::{bytes, nanos, ratio};

/// A Page this close to the Site's size is taken to carry the Site along.
pub const DRAG_FRACTION: f64 = 0.5;

/// "site.config['x']._lock (TypeError: ...), and 2 more"
fn culprit_list(p: &PayloadJson) -> Option<String> {
    if p.failures.is_empty() {
        return None;
    }
    let named: Vec<String> = p
        .failures
        .iter()
        .take(3)
        .map(|c| format!("`{}` ({}: {})", c.path, c.type_name, c.error))
        .collect();
    let more = p.failures.len().saturating_sub(3);
    Some(if more > 0 {
        format!("{}, and {more} more", named.join(", "))
    } else {
        named.join(", ")
    })
}

/// "page._site (434.1 KB), page.metadata['_posts'] (1.2 MB)" — references that bring bytes in.
pub fn drag_list(p: &PayloadJson, max: usize) -> Option<String> {
    let mut drags: Vec<_> = p.drag.iter().filter(|d| d.bytes.unwrap_or(0) > 0).collect();
    drags.sort_by_key(|d| std::cmp::Reverse(d.bytes));
    if drags.is_empty() {
        return None;
    }
    let named: Vec<String> = drags
        .iter()
        .take(max)
        .map(|d| format!("`{}` ({})", d.path, bytes(d.bytes.unwrap_or(0))))
        .collect();
    let others = p.drag.len() - drags.len().min(max);
    Some(if others > 0 {
        format!(
            "{} (and {others} more reference(s) into the same graph)",
            named.join(", ")
        )
    } else {
        named.join(", ")
    })
}

/// The paragraph comparing `site`, `page`, `page_subset` and the suggestion, from the measured
/// numbers: one sentence (or two) per payload, then the notes.
pub fn comparison(
    payloads: &[PayloadJson],
    fields: &[String],
    suggestion: Option<&SuggestionJson>,
    notes: &[String],
) -> Verdict {
    let find = |kind: PayloadKind| payloads.iter().find(|p| p.name == kind);
    let (site, page, subset) = (
        find(PayloadKind::Site),
        find(PayloadKind::Page),
        find(PayloadKind::PageSubset),
    );
    let mut v = Verdict::default();
    let mut sentences = Vec::new();
    if let Some(s) = site {
        sentences.extend(site_sentences(s));
    }
    if let Some(p) = page {
        sentences.push(page_sentence(p, site, &mut v));
    }
    if let (Some(p), Some(q)) = (page, subset) {
        sentences.extend(subset_sentences(p, q, fields, &mut v));
    }
    if let Some(sg) = suggestion {
        sentences.push(suggestion_sentence(sg, find(PayloadKind::PageSuggested), page));
    }
    for note in notes {
        sentences.push(format!("(Note: {note}.)"));
    }
    v.text = sentences.join(" ");
    v
}

/// The Site's size and round trip, or why it cannot be pickled and its first culprits.
fn site_sentences(s: &PayloadJson) -> Vec<String> {
    if s.picklable {
        return vec![format!(
            "The full Site is picklable: {} per copy, {} per round trip at p50 (dumps {} + loads {}).",
            bytes(s.bytes.as_ref().map_or(0, |b| b.median)),
            nanos(s.roundtrip_ns.p50),
            nanos(s.dumps_ns.p50),
            nanos(s.loads_ns.p50)
        )];
    }
    let mut sentences = vec![format!(
        "The full Site is not picklable ({}), so it cannot be shipped to worker interpreters as it is.",
        s.error.as_deref().unwrap_or("unknown error")
    )];
    if let Some(list) = culprit_list(s) {
        sentences.push(format!(
            "Unpicklable objects in it ({}): {list}.",
            s.failures.len()
        ));
    }
    sentences
}

/// A Page's size and round trip, its share of the Site's size (recorded in `v`: a Page at
/// least `DRAG_FRACTION` of the Site drags it), and its failures.
fn page_sentence(p: &PayloadJson, site: Option<&PayloadJson>, v: &mut Verdict) -> String {
    if p.count == 0 && p.objects == 0 {
        return "The site has no pages to measure.".into();
    }
    let Some(pb) = p.bytes.as_ref() else {
        return format!(
            "No Page is picklable ({}).",
            p.error.as_deref().unwrap_or("unknown error")
        );
    };
    let mut s = format!(
        "A single Page pickles to {} at the median (max {}), {} per round trip at p50",
        bytes(pb.median),
        bytes(pb.max),
        nanos(p.roundtrip_ns.p50)
    );
    if let Some(sb) = site.and_then(|s| s.bytes.as_ref()).filter(|b| b.median > 0) {
        let share = pb.median as f64 / sb.median as f64;
        v.page_to_site_bytes = Some(share);
        v.page_drags_site = share >= DRAG_FRACTION;
        s.push_str(&share_of_site(p, share));
    }
    s.push('.');
    if !p.picklable {
        s.push_str(&format!(
            " {} page(s) failed to pickle ({}).",
            p.failures_count,
            p.error.as_deref().unwrap_or("")
        ));
        if let Some(list) = culprit_list(p) {
            s.push_str(&format!(" Culprits: {list}."));
        }
    }
    s
}

/// " (0.6% of the whole Site)", or " — 60% of the whole Site: pickling one Page drags ...".
fn share_of_site(p: &PayloadJson, share: f64) -> String {
    if share < DRAG_FRACTION {
        return format!(" ({:.1}% of the whole Site)", share * 100.0);
    }
    let mut s = format!(
        " — {:.0}% of the whole Site: pickling one Page drags the Site's object graph along with it",
        share * 100.0
    );
    if let Some(list) = drag_list(p, 3) {
        s.push_str(&format!(", through {list}"));
    }
    s
}

/// The subset against a full Page: how much smaller and faster (recorded in `v`), what
/// shipping every page would cost either way, and a warning when a subset drags too.
fn subset_sentences(p: &PayloadJson, q: &PayloadJson, fields: &[String], v: &mut Verdict) -> Vec<String> {
    let (pb, qb) = match (p.bytes.as_ref(), q.bytes.as_ref()) {
        (Some(pb), Some(qb)) if qb.median > 0 && q.roundtrip_ns.p50 > 0 => (pb, qb),
        (_, None) if !q.picklable => {
            return vec![format!(
                "The page subset is not picklable either ({}).",
                q.error.as_deref().unwrap_or("unknown error")
            )];
        }
        _ => return Vec::new(),
    };
    let smaller = pb.median as f64 / qb.median as f64;
    let faster = p.roundtrip_ns.p50 as f64 / q.roundtrip_ns.p50 as f64;
    v.subset_smaller_than_page = Some(smaller);
    v.subset_faster_than_page = Some(faster);
    let mut sentences = vec![
        format!(
            "A page subset ({}) is {} and {} to round-trip than a full Page ({} vs {} median; {} vs {} p50).",
            fields.join(", "),
            size_relation(smaller),
            speed_relation(faster),
            bytes(qb.median),
            bytes(pb.median),
            nanos(q.roundtrip_ns.p50),
            nanos(p.roundtrip_ns.p50)
        ),
        every_page_cost(p, q),
    ];
    // Only a graph-dragging Page makes a large subset suspicious: its fields may drag too.
    if v.page_drags_site && qb.max as f64 > 0.5 * pb.median as f64 {
        sentences.push(format!(
            "Some subsets are nearly as large as a full Page (max {}): a selected field drags the graph along too (see Why).",
            bytes(qb.max)
        ));
    }
    sentences
}

/// "barely smaller" (less than 2x), "40x smaller" or "2.0x larger", from Page / subset.
fn size_relation(smaller: f64) -> String {
    if (1.0..2.0).contains(&smaller) {
        "barely smaller".to_string()
    } else if smaller >= 1.0 {
        format!("{} smaller", ratio(smaller))
    } else {
        format!("{} larger", ratio(1.0 / smaller))
    }
}

/// "3.5x faster" or "2.0x slower", from Page / subset round trip.
fn speed_relation(faster: f64) -> String {
    if faster >= 1.0 {
        format!("{} faster", ratio(faster))
    } else {
        format!("{} slower", ratio(1.0 / faster))
    }
}

/// Every page pickled as a full Page and as a subset: a total (the measured pages' mean round
/// trip x pages), not a median times pages, because page costs are skewed.
fn every_page_cost(p: &PayloadJson, q: &PayloadJson) -> String {
    let pages = p.objects as f64;
    format!(
        "Shipping every one of the {} pages would cost about {} of pickling as full Pages versus {} as subsets (mean round trip x pages).",
        p.objects,
        nanos((p.roundtrip_ns.mean * pages) as u64),
        nanos((q.roundtrip_ns.mean * pages) as u64)
    )
}

/// The suggestion as options, with what `page_suggested` measured and how it compares with a
/// full Page.
fn suggestion_sentence(
    sg: &SuggestionJson,
    suggested: Option<&PayloadJson>,
    page: Option<&PayloadJson>,
) -> String {
    let measured = suggested.and_then(|p| p.bytes.as_ref().map(|b| (b.median, p.roundtrip_ns.p50)));
    let mut s = format!("Suggested minimal page payload: `{}`", sg.options);
    if let Some((median, p50)) = measured {
        s.push_str(&format!(
            ", measured as `page_suggested`: {} median, {} round trip at p50",
            bytes(median),
            nanos(p50)
        ));
        if let Some(pb) = page.and_then(|p| p.bytes.as_ref()).filter(|_| median > 0) {
            s.push_str(&format!(
                " ({} smaller than a full Page)",
                ratio(pb.median as f64 / median as f64)
            ));
        }
    }
    s.push('.');
    s
}

/// The one-line answer to "is the Site picklable cheaply?", from the measured payloads and the
/// per-strategy verdicts.
pub fn answer(payloads: &[PayloadJson], verdicts: &[VerdictRow]) -> String {
    let Some(site) = payloads.iter().find(|p| p.name == PayloadKind::Site) else {
        return "No Site was measured.".into();
    };
    if !site.picklable {
        return site_unpicklable(site) + &without_pickling(verdicts);
    }
    let size = site.bytes.as_ref().map_or(0, |b| b.median);
    let mut s = format!(
        "The Site pickles ({}, {} per round trip at p50)",
        bytes(size),
        nanos(site.roundtrip_ns.p50)
    );
    let site: Vec<&VerdictRow> = verdicts
        .iter()
        .filter(|v| v.payload == PayloadKind::Site)
        .collect();
    if site.is_empty() {
        s.push('.');
        return s;
    }
    // Blocked rows and rows a real run found slower than sequential are never named.
    let named: Vec<String> = site.iter().filter(|v| nameable(v)).map(|v| site_row(v)).collect();
    let left_out = site.len() - named.len();
    if named.is_empty() {
        s.push_str("; every way of shipping it once per worker is blocked or slower than sequential in a real run (see the strategies)");
    } else {
        s.push_str(&format!("; shipping it once per worker is {}", named.join(", ")));
        if left_out > 0 {
            s.push_str(&format!(
                " ({left_out} other way(s) left out: blocked or slower than sequential in a real run)"
            ));
        }
    }
    s.push_str(&best_option(verdicts));
    s.push('.');
    s
}

/// "; the best strategy a real run checked is ...", or where no row a real run checked stands:
/// that the checked ones were slower than sequential, and the cheapest per-page option by its
/// share (a prediction only).
fn best_option(verdicts: &[VerdictRow]) -> String {
    if let Some(b) = best_checked(verdicts) {
        return format!(
            "; the best strategy a real run checked is `{}` via {}: {}, predicted {} and measured {:.2}× at W = {} ({:.2}% of render time)",
            b.payload,
            b.transport,
            b.class.word(),
            b.predicted_speedup
                .map_or("–".to_string(), |p| format!("{p:.2}×")),
            b.measured_speedup.unwrap_or(0.0),
            b.workers,
            b.transfer_share.unwrap_or(0.0) * 100.0
        );
    }
    let mut s = String::new();
    if verdicts.iter().any(check::contradicted) {
        s.push_str("; every strategy a real run checked was slower than sequential on this machine");
    }
    if let Some(b) = cheapest_per_page(verdicts) {
        s.push_str(&format!(
            "; the cheapest per-page option is `{}` via {}: {} ({:.2}% of render time{})",
            b.payload,
            b.transport,
            b.class.word(),
            b.transfer_share.unwrap_or(0.0) * 100.0,
            b.predicted_speedup.map_or(String::new(), |p| format!(
                "; predicted {p:.2}× at W = {}, prediction only",
                b.workers
            ))
        ));
    }
    s
}

/// What works where the Site does not pickle (fork shares it, a per-page payload may ship):
/// " Without pickling the Site: the best strategy a real run checked is …", or nothing.
fn without_pickling(verdicts: &[VerdictRow]) -> String {
    match best_option(verdicts).strip_prefix("; ") {
        Some(rest) => format!(" Without pickling the Site: {rest}."),
        None => String::new(),
    }
}

/// A row the answer may name: neither blocked nor contradicted by a real run.
fn nameable(v: &VerdictRow) -> bool {
    v.class != crate::model::VerdictClass::Blocked && !check::contradicted(v)
}

/// The best row a real run checked (best class, then fastest measured, then cheapest share),
/// never a blocked or contradicted one.
fn best_checked(verdicts: &[VerdictRow]) -> Option<&VerdictRow> {
    use crate::model::VerdictClass as C;
    let rank = |v: &VerdictRow| match v.class {
        C::Practical => 0,
        C::Marginal => 1,
        _ => 2,
    };
    verdicts
        .iter()
        .filter(|v| nameable(v) && v.class != C::Unknown && v.measured_speedup.is_some())
        .min_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then(
                    b.measured_speedup
                        .unwrap_or(0.0)
                        .total_cmp(&a.measured_speedup.unwrap_or(0.0)),
                )
                .then(
                    a.transfer_share
                        .unwrap_or(f64::MAX)
                        .total_cmp(&b.transfer_share.unwrap_or(f64::MAX)),
                )
        })
}

/// What the answer rests on where a time limit cut a phase short, in a sentence per phase (None
/// when no limit cut one).
pub fn rests_on(limits: &[PhaseLimit]) -> Option<String> {
    let said: Vec<String> = limits
        .iter()
        .filter(|l| l.cut)
        .map(|l| match (l.phase, l.done) {
            (LimitedPhase::Render, 0) => format!(
                "No render cost was measured within the render-cost probe's time limit ({}), so \
                 no strategy is judged against it.",
                l.phase.flag()
            ),
            (LimitedPhase::Render, done) => format!(
                "The render cost rests on {done} of {} pages: the render-cost probe's time limit \
                 ({}) cut it.",
                l.planned,
                l.phase.flag()
            ),
            (LimitedPhase::Growth, done) => format!(
                "The growth model rests on {done} of {} copies of the site: its time limit ({}) \
                 cut it.",
                l.planned,
                l.phase.flag()
            ),
            (LimitedPhase::Check, done) => format!(
                "The real parallel check made {done} of {} runs within its time limit ({}): the \
                 rows it did not reach are predictions only.",
                l.planned,
                l.phase.flag()
            ),
            (phase, done) => format!(
                "The {} are partial ({done} of {} steps ran to their end within {}).",
                phase.words(),
                l.planned,
                phase.flag()
            ),
        })
        .collect();
    (!said.is_empty()).then(|| said.join(" "))
}

/// "No: the Site cannot be pickled at all (...)", its first root causes and the cost after
/// repairs.
fn site_unpicklable(site: &PayloadJson) -> String {
    let mut s = format!(
        "No: the Site cannot be pickled at all ({}).",
        site.error.as_deref().unwrap_or("unknown error")
    );
    if !site.root_causes.is_empty() {
        let causes: Vec<String> = site
            .root_causes
            .iter()
            .take(3)
            .map(|c| format!("`{}` ({} x{})", c.pattern, c.type_name, c.count))
            .collect();
        s.push_str(&format!(
            " {} root cause(s): {}{}.",
            site.root_causes.len(),
            causes.join(", "),
            match site.root_causes.len() {
                n if n > 3 => format!(" and {} more", n - 3),
                _ => String::new(),
            }
        ));
    }
    if let Some(fix) = &site.repaired {
        s.push_str(&format!(" The Site {}.", after_repairs(fix)));
    }
    s
}

/// One Site strategy: "practical via fork (0.4% of render time)".
fn site_row(v: &VerdictRow) -> String {
    match (v.class, v.transfer_share) {
        _ if v.held_back => format!("not measured via {} (no worker fitted the memory)", v.transport),
        (crate::model::VerdictClass::Unknown, _) => {
            format!("unclassified via {} (no render cost)", v.transport)
        }
        (crate::model::VerdictClass::Blocked, _) => {
            format!(
                "blocked via {} (the worker cannot import the renderer)",
                v.transport
            )
        }
        (_, Some(share)) => format!(
            "{} via {} ({:.1}% of render time{})",
            v.class.word(),
            v.transport,
            share * 100.0,
            speedups(v)
        ),
        (_, None) => match unshippable_reason(&v.why) {
            Some(reason) => format!("not shippable via {} ({reason})", v.transport),
            None => format!("not shippable via {}", v.transport),
        },
    }
}

/// Why a payload does not ship, as its row's `why` opens: "unpickling needs module
/// pelican.contents, which cannot load in an isolated sub-interpreter (…)".
fn unshippable_reason(why: &str) -> Option<&str> {
    let reason = why.strip_prefix("not shippable: ")?;
    Some(reason.split("; ").next().unwrap_or(reason))
}

/// "; predicted 1.62×, measured 0.85× at W = 2", "; predicted 1.62× at W = 2, prediction only",
/// or nothing where there is neither.
fn speedups(v: &VerdictRow) -> String {
    match (v.predicted_speedup, v.measured_speedup) {
        (p, Some(m)) => format!(
            "; predicted {}, measured {m:.2}× at W = {}",
            p.map_or("–".to_string(), |p| format!("{p:.2}×")),
            v.workers
        ),
        (Some(p), None) => format!("; predicted {p:.2}× at W = {}, prediction only", v.workers),
        (None, None) => String::new(),
    }
}

/// The per-page payload (one object per page: never the Site or another whole-site object)
/// with the smallest transfer share, by its best transport a worker can render in (never a
/// blocked or contradicted one).
fn cheapest_per_page(verdicts: &[VerdictRow]) -> Option<&VerdictRow> {
    verdicts
        .iter()
        .filter(|v| v.payload.per_page() && nameable(v))
        .filter_map(|v| v.transfer_share.map(|share| (share, v)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| v)
}

/// "after repairs (1 RLock -> None, 57 mappingproxy -> dict): 571.3 KB, 9.1 ms round trip p50, marginal (2.1% of render; not checked by a real run)"
pub fn after_repairs(fix: &RepairedJson) -> String {
    let repairs: Vec<String> = fix.repairs.iter().map(|(t, n)| format!("{n} {t}")).collect();
    let what = if repairs.is_empty() {
        String::new()
    } else {
        format!(" ({} replaced)", repairs.join(", "))
    };
    match (&fix.error, fix.bytes) {
        (Some(error), _) => format!("{}{what}: still fails: {error}", fix.label),
        (None, Some(size)) => {
            let class = match (fix.class, fix.transfer_share) {
                (Some(c), Some(share)) => format!(
                    ", {} ({:.2}% of render; not checked by a real run)",
                    c.word(),
                    share * 100.0
                ),
                _ => String::new(),
            };
            format!(
                "{}{what}: {}, {} round trip p50{class}",
                fix.label,
                bytes(size),
                nanos(fix.roundtrip_ns.p50)
            )
        }
        (None, None) => format!("{}: not measured", fix.label),
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;
    use crate::model::{TransportKind, VerdictClass};

    fn cut(phase: LimitedPhase, done: u64, planned: u64, cut: bool) -> PhaseLimit {
        PhaseLimit {
            phase,
            limit_seconds: 60.0,
            seconds: 61.0,
            cut,
            done,
            planned,
            unit: "things".into(),
            note: None,
        }
    }

    #[test]
    fn the_answer_says_what_a_cut_phase_left_it_resting_on() {
        assert_eq!(rests_on(&[cut(LimitedPhase::Render, 60, 60, false)]), None);
        assert_eq!(
            rests_on(&[cut(LimitedPhase::Render, 12, 60, true)]).unwrap(),
            "The render cost rests on 12 of 60 pages: the render-cost probe's time limit \
             (--render-limit) cut it."
        );
        let both = rests_on(&[
            cut(LimitedPhase::Render, 0, 60, true),
            cut(LimitedPhase::Diagnose, 3, 7, true),
            cut(LimitedPhase::Growth, 2, 4, true),
        ])
        .unwrap();
        assert!(both.starts_with("No render cost was measured within"), "{both}");
        assert!(
            both.contains(
                " The explanations are partial (3 of 7 steps ran to their end within --diagnose-limit)."
            ),
            "{both}"
        );
        assert!(
            both.ends_with(
                "The growth model rests on 2 of 4 copies of the site: its time limit (--growth-limit) cut it."
            ),
            "{both}"
        );
    }

    fn fields() -> Vec<String> {
        vec!["source_path".into(), "content".into()]
    }

    #[test]
    fn a_page_near_the_site_size_drags_it_and_names_the_reference() {
        let site = payload(PayloadKind::Site, 1, 100_000, 9_000_000);
        let mut page = payload(PayloadKind::Page, 20, 60_000, 5_000_000);
        page.drag = vec![crate::model::explain::Drag {
            path: "page._site".into(),
            bytes: Some(55_000),
            reaches: "site".into(),
            parent: None,
            alone_bytes: Some(58_000),
        }];
        let subset = payload(PayloadKind::PageSubset, 20, 1_000, 20_000);
        let v = comparison(
            &[site.clone(), page.clone(), subset.clone()],
            &fields(),
            None,
            &[],
        );
        let share = 60_000.0 / 100_000.0;
        assert_eq!(v.page_to_site_bytes, Some(share));
        assert!(share >= DRAG_FRACTION && v.page_drags_site);
        assert!(
            v.text
                .contains(&format!("{:.0}% of the whole Site", share * 100.0)),
            "{}",
            v.text
        );
        assert!(
            v.text
                .contains(&format!("through `page._site` ({})", bytes(55_000))),
            "{}",
            v.text
        );
        // The subset's max (2x its median) is far below half a Page: no warning.
        assert!(!v.text.contains("nearly as large as a full Page"));

        // The same Page at a tenth of the Site does not drag it.
        let mut big_site = site;
        big_site.bytes = Some(byte_stats(600_000, 1));
        let v = comparison(&[big_site, page, subset], &fields(), None, &[]);
        assert_eq!(v.page_to_site_bytes, Some(0.1));
        assert!(!v.page_drags_site);
        assert!(v.text.contains(" (10.0% of the whole Site)."), "{}", v.text);
    }

    #[test]
    fn subset_ratios_and_the_cost_of_shipping_every_page() {
        let site = payload(PayloadKind::Site, 1, 1_000_000, 9_000_000);
        let page = payload(PayloadKind::Page, 30, 40_000, 700_000);
        let subset = payload(PayloadKind::PageSubset, 30, 1_000, 20_000);
        let v = comparison(&[site, page.clone(), subset.clone()], &fields(), None, &[]);
        let smaller = 40_000.0 / 1_000.0;
        let faster = 700_000.0 / 20_000.0;
        assert_eq!(v.subset_smaller_than_page, Some(smaller));
        assert_eq!(v.subset_faster_than_page, Some(faster));
        assert!(
            v.text.contains(&format!(
                "A page subset (source_path, content) is {} smaller and {} faster to round-trip than a full Page ({} vs {} median; {} vs {} p50).",
                ratio(smaller),
                ratio(faster),
                bytes(1_000),
                bytes(40_000),
                nanos(20_000),
                nanos(700_000)
            )),
            "{}",
            v.text
        );
        assert!(v.text.contains(&format!(
            "Shipping every one of the 30 pages would cost about {} of pickling as full Pages versus {} as subsets (mean round trip x pages).",
            nanos((page.roundtrip_ns.mean * 30.0) as u64),
            nanos((subset.roundtrip_ns.mean * 30.0) as u64)
        )));
        assert_ne!(
            page.roundtrip_ns.mean, page.roundtrip_ns.p50 as f64,
            "the test tells them apart"
        );
    }

    #[test]
    fn a_subset_barely_smaller_or_larger_and_slower_says_so() {
        let page = payload(PayloadKind::Page, 5, 1_500, 10_000);
        let subset = payload(PayloadKind::PageSubset, 5, 1_000, 20_000);
        let v = comparison(&[page.clone(), subset], &fields(), None, &[]);
        assert!(v.text.contains("is barely smaller and 2.0x slower"), "{}", v.text);
        let larger = payload(PayloadKind::PageSubset, 5, 3_000, 5_000);
        let v = comparison(&[page, larger], &fields(), None, &[]);
        assert!(
            v.text
                .contains(&format!("is {} larger and {} faster", ratio(2.0), ratio(2.0))),
            "{}",
            v.text
        );
    }

    #[test]
    fn an_unpicklable_site_names_its_culprits_and_an_unpicklable_subset_is_said() {
        let mut site = unpicklable(PayloadKind::Site, 1, "TypeError: no");
        site.failures = (0..5)
            .map(|k| culprit(&format!("site.x{k}"), "RLock", "cannot pickle"))
            .collect();
        let page = payload(PayloadKind::Page, 3, 1_000, 10_000);
        let subset = unpicklable(PayloadKind::PageSubset, 3, "TypeError: lock");
        let notes = vec!["a note".to_string()];
        let v = comparison(&[site, page, subset], &fields(), None, &notes);
        assert!(
            v.text
                .starts_with("The full Site is not picklable (TypeError: no)"),
            "{}",
            v.text
        );
        assert!(
            v.text
                .contains("Unpicklable objects in it (5): `site.x0` (RLock: cannot pickle)")
        );
        assert!(
            v.text.contains(", and 2 more."),
            "three named of five: {}",
            v.text
        );
        assert!(
            v.text
                .contains("The page subset is not picklable either (TypeError: lock).")
        );
        assert!(v.text.ends_with("(Note: a note.)"));
        assert_eq!(v.page_to_site_bytes, None);
        assert!(!v.page_drags_site);
    }

    #[test]
    fn no_pages_and_no_picklable_page() {
        let empty = PayloadJson {
            count: 0,
            objects: 0,
            bytes: None,
            ..payload(PayloadKind::Page, 0, 0, 0)
        };
        assert_eq!(
            comparison(&[empty], &[], None, &[]).text,
            "The site has no pages to measure."
        );
        let failed = unpicklable(PayloadKind::Page, 4, "TypeError: file");
        assert_eq!(
            comparison(&[failed], &[], None, &[]).text,
            "No Page is picklable (TypeError: file)."
        );
    }

    #[test]
    fn the_suggestion_sentence_carries_its_measured_figures() {
        let page = payload(PayloadKind::Page, 8, 12_000, 90_000);
        let suggested = payload(PayloadKind::PageSuggested, 8, 400, 6_000);
        let sg = suggestion(Some(400));
        let v = comparison(&[page, suggested], &[], Some(&sg), &[]);
        assert!(
            v.text.ends_with(&format!(
                "Suggested minimal page payload: `{}`, measured as `page_suggested`: {} median, {} round trip at p50 ({} smaller than a full Page).",
                sg.options,
                bytes(400),
                nanos(6_000),
                ratio(12_000.0 / 400.0)
            )),
            "{}",
            v.text
        );
    }

    #[test]
    fn answer_for_an_unpicklable_site_lists_root_causes_and_repairs() {
        let site = unpicklable_site();
        let a = answer(std::slice::from_ref(&site), &[]);
        assert!(a.starts_with(&format!(
            "No: the Site cannot be pickled at all ({}).",
            site.error.as_deref().unwrap()
        )));
        assert!(a.contains(&format!("{} root cause(s): ", site.root_causes.len())));
        for c in &site.root_causes {
            assert!(
                a.contains(&format!("`{}` ({} x{})", c.pattern, c.type_name, c.count)),
                "{a}"
            );
        }
        let repaired = after_repairs(site.repaired.as_ref().unwrap());
        assert!(a.ends_with(&format!("). The Site {repaired}.")), "{a}");
        // Past three root causes, the rest are counted.
        let mut more = site.clone();
        more.root_causes.push(root_cause("site.a", "_thread.lock", 3));
        more.root_causes.push(root_cause("site.b", "_thread.lock", 2));
        let a = answer(std::slice::from_ref(&more), &[]);
        assert!(a.contains(" and 1 more. The Site "), "{a}");
        assert!(!a.contains("site.b"), "{a}");
    }

    #[test]
    fn answer_for_an_unpicklable_site_names_what_works_without_pickling_it() {
        use PayloadKind::*;
        use TransportKind::*;
        use VerdictClass::*;
        let site = unpicklable_site();
        let verdicts = [
            checked(row(Site, Fork, Some(0.003), Practical), 1.98, 1.34, Practical),
            row(PageSuggested, Forkserver, Some(0.35), Impractical),
            row(Site, Subinterpreter, None, Impractical),
        ];
        let a = answer(std::slice::from_ref(&site), &verdicts);
        assert!(
            a.starts_with(&site_unpicklable(&site)),
            "the causes come first: {a}"
        );
        assert!(
            a.ends_with(
                " Without pickling the Site: the best strategy a real run checked is `site` via fork: practical, predicted 1.98× and measured 1.34× at W = 4 (0.30% of render time)."
            ),
            "{a}"
        );
        // Nothing checked and no per-page row with a share: nothing is added.
        assert_eq!(
            answer(std::slice::from_ref(&site), &verdicts[2..]),
            site_unpicklable(&site)
        );
    }

    #[test]
    fn answer_for_a_picklable_site_describes_every_site_row_and_the_cheapest_per_page_option() {
        use PayloadKind::*;
        use TransportKind::*;
        let payloads = [payload(Site, 1, 2_000_000, 8_000_000)];
        let refused = "unpickling needs module pelican.contents, which cannot load in an isolated sub-interpreter (ImportError: module watchfiles._rust_notify does not support loading in subinterpreters)";
        let mut not_shippable = row(Site, Subinterpreter, None, VerdictClass::Impractical);
        not_shippable.why = format!("not shippable: {refused}; a legacy-config sub-interpreter can take it");
        let verdicts = [
            row(Site, Process, Some(0.3), VerdictClass::Impractical),
            not_shippable,
            row(Page, Process, Some(0.2), VerdictClass::Marginal),
            row(PageSubset, Process, Some(0.04), VerdictClass::Practical),
            row(PageSubset, Fork, Some(0.01), VerdictClass::Practical),
        ];
        let a = answer(&payloads, &verdicts);
        assert_eq!(
            a,
            format!(
                "The Site pickles ({}, {} per round trip at p50); shipping it once per worker is impractical via process (30.0% of render time), not shippable via subinterpreter ({refused}); the cheapest per-page option is `page_subset` via fork: practical (1.00% of render time).",
                bytes(2_000_000),
                nanos(8_000_000)
            )
        );
        // Without Site rows there is nothing more to say.
        assert_eq!(
            answer(&payloads, &verdicts[2..]),
            format!(
                "The Site pickles ({}, {} per round trip at p50).",
                bytes(2_000_000),
                nanos(8_000_000)
            )
        );
        assert_eq!(answer(&[], &verdicts), "No Site was measured.");
    }

    #[test]
    fn a_blocked_strategy_is_never_the_answer_however_cheap() {
        use PayloadKind::*;
        use TransportKind::*;
        let payloads = [payload(Site, 1, 2_000_000, 8_000_000)];
        let verdicts = [
            row(Site, Subinterpreter, Some(0.001), VerdictClass::Blocked),
            row(PageSubset, Subinterpreter, Some(0.005), VerdictClass::Blocked),
            row(PageSubset, Process, Some(0.04), VerdictClass::Practical),
        ];
        let a = answer(&payloads, &verdicts);
        assert_eq!(
            a,
            format!(
                "The Site pickles ({}, {} per round trip at p50); every way of shipping it once per worker is blocked or slower than sequential in a real run (see the strategies); the cheapest per-page option is `page_subset` via process: practical (4.00% of render time).",
                bytes(2_000_000),
                nanos(8_000_000)
            )
        );
        // With only blocked rows, no option is named at all.
        let a = answer(&payloads, &verdicts[..2]);
        assert!(!a.contains("cheapest per-page"), "{a}");
        assert!(!a.contains("subinterpreter"), "a blocked row is never named: {a}");
    }

    /// A row checked by a real run: `measured` at W = 4 (its class already settled by it).
    fn checked(mut v: VerdictRow, predicted: f64, measured: f64, by_run: VerdictClass) -> VerdictRow {
        v.predicted_speedup = Some(predicted);
        v.measured_speedup = Some(measured);
        v.measured_class = Some(by_run);
        v.class = check::worse(v.class, by_run);
        v
    }

    #[test]
    fn the_answer_never_names_a_row_a_real_run_contradicts_and_names_the_best_checked_one() {
        use PayloadKind::*;
        use TransportKind::*;
        use VerdictClass::*;
        let payloads = [payload(Site, 1, 2_000_000, 8_000_000)];
        // The shares call process practical, but the real run was slower than sequential.
        let verdicts = [
            checked(row(Site, Process, Some(0.013), Practical), 1.9, 0.85, Impractical),
            checked(row(Site, Fork, Some(0.02), Practical), 1.8, 1.62, Practical),
            checked(
                row(PageSubset, Process, Some(0.004), Practical),
                1.9,
                0.85,
                Impractical,
            ),
            row(PageSubset, Subinterpreter, Some(0.001), Blocked),
        ];
        assert_eq!(verdicts[0].class, Impractical, "the real run demotes it");
        let a = answer(&payloads, &verdicts);
        assert!(!a.contains("process"), "{a}");
        assert!(!a.contains("subinterpreter"), "{a}");
        assert_eq!(
            a,
            format!(
                "The Site pickles ({}, {} per round trip at p50); shipping it once per worker is practical via fork (2.0% of render time; predicted 1.80×, measured 1.62× at W = 4) (1 other way(s) left out: blocked or slower than sequential in a real run); the best strategy a real run checked is `site` via fork: practical, predicted 1.80× and measured 1.62× at W = 4 (2.00% of render time).",
                bytes(2_000_000),
                nanos(8_000_000)
            )
        );
        // Every checked row slower than sequential: said, and none of them named.
        let slow = [verdicts[0].clone(), verdicts[2].clone(), verdicts[3].clone()];
        let a = answer(&payloads, &slow);
        assert!(
            a.contains("every strategy a real run checked was slower than sequential on this machine"),
            "{a}"
        );
        assert!(!a.contains("via process") && !a.contains("subinterpreter"), "{a}");
        // An unchecked per-page row is named with its prediction, labelled as such.
        let mut unchecked = row(PageSubset, Fork, Some(0.01), Practical);
        unchecked.predicted_speedup = Some(1.7);
        let a = answer(&payloads, &[verdicts[0].clone(), unchecked]);
        assert!(
            a.ends_with(
                "the cheapest per-page option is `page_subset` via fork: practical (1.00% of render time; predicted 1.70× at W = 4, prediction only)."
            ),
            "{a}"
        );
    }

    #[test]
    fn a_whole_site_object_is_never_the_cheapest_per_page_option() {
        use PayloadKind::*;
        use TransportKind::*;
        let payloads = [payload(Site, 1, 2_000_000, 8_000_000)];
        let verdicts = [
            row(Site, Process, Some(0.3), VerdictClass::Impractical),
            row(SiteExtra, Process, Some(0.001), VerdictClass::Practical),
            row(PageSubset, Process, Some(0.04), VerdictClass::Practical),
        ];
        let cheapest = verdicts
            .iter()
            .filter(|v| v.payload.per_page())
            .min_by(|a, b| a.transfer_share.partial_cmp(&b.transfer_share).unwrap())
            .unwrap();
        assert_eq!(cheapest.payload, PageSubset);
        let a = answer(&payloads, &verdicts);
        assert!(!a.contains("`site_extra`"), "{a}");
        assert!(
            a.contains(&format!(
                "the cheapest per-page option is `{}` via {}: practical ({:.2}% of render time)",
                cheapest.payload,
                cheapest.transport,
                cheapest.transfer_share.unwrap() * 100.0
            )),
            "{a}"
        );
    }

    #[test]
    fn after_repairs_reads_the_repaired_figures() {
        let fix = unpicklable_site().repaired.unwrap();
        assert_eq!(
            after_repairs(&fix),
            format!(
                "{} (1 RLock, 12 TextIOWrapper replaced): {}, {} round trip p50, marginal ({:.2}% of render; not checked by a real run)",
                fix.label,
                bytes(fix.bytes.unwrap()),
                nanos(fix.roundtrip_ns.p50),
                fix.transfer_share.unwrap() * 100.0
            )
        );
        let still = RepairedJson {
            error: Some("TypeError: still".into()),
            ..fix
        };
        assert!(after_repairs(&still).ends_with(": still fails: TypeError: still"));
    }
}
