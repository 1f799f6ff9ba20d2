//! The verdicts, from measured numbers only: the one-paragraph comparison of `site`, `page` and
//! `page_subset`, the one-line answer, and (in `strategies`) the per-strategy rows.
pub mod scale;
pub mod strategies;
#[cfg(test)]
pub mod testdata;

use crate::model::PayloadKind;
use crate::model::results::{GrowthJson, PayloadJson, RepairedJson, SuggestionJson, Verdict};
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
/// numbers.
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

    match site {
        Some(s) if s.picklable => sentences.push(format!(
            "The full Site is picklable: {} per copy, {} per round trip at p50 (dumps {} + loads {}).",
            bytes(s.bytes.as_ref().map_or(0, |b| b.median)),
            nanos(s.roundtrip_ns.p50),
            nanos(s.dumps_ns.p50),
            nanos(s.loads_ns.p50)
        )),
        Some(s) => {
            sentences.push(format!(
                "The full Site is not picklable ({}), so it cannot be shipped to worker interpreters as it is.",
                s.error.as_deref().unwrap_or("unknown error")
            ));
            if let Some(list) = culprit_list(s) {
                sentences.push(format!(
                    "Unpicklable objects in it ({}): {list}.",
                    s.failures.len()
                ));
            }
        }
        None => {}
    }

    if let Some(p) = page {
        if p.count == 0 && p.objects == 0 {
            sentences.push("The site has no pages to measure.".into());
        } else if let Some(pb) = p.bytes.as_ref() {
            let mut s = format!(
                "A single Page pickles to {} at the median (max {}), {} per round trip at p50",
                bytes(pb.median),
                bytes(pb.max),
                nanos(p.roundtrip_ns.p50)
            );
            if let Some(sb) = site.and_then(|s| s.bytes.as_ref()).filter(|b| b.median > 0) {
                let share = pb.median as f64 / sb.median as f64;
                v.page_to_site_bytes = Some(share);
                if share >= DRAG_FRACTION {
                    v.page_drags_site = true;
                    s.push_str(&format!(
                        " — {:.0}% of the whole Site: pickling one Page drags the Site's object graph along with it",
                        share * 100.0
                    ));
                    if let Some(list) = drag_list(p, 3) {
                        s.push_str(&format!(", through {list}"));
                    }
                } else {
                    s.push_str(&format!(" ({:.1}% of the whole Site)", share * 100.0));
                }
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
            sentences.push(s);
        } else {
            sentences.push(format!(
                "No Page is picklable ({}).",
                p.error.as_deref().unwrap_or("unknown error")
            ));
        }
    }

    if let (Some(p), Some(q)) = (page, subset) {
        match (p.bytes.as_ref(), q.bytes.as_ref()) {
            (Some(pb), Some(qb)) if qb.median > 0 && q.roundtrip_ns.p50 > 0 => {
                let smaller = pb.median as f64 / qb.median as f64;
                let faster = p.roundtrip_ns.p50 as f64 / q.roundtrip_ns.p50 as f64;
                v.subset_smaller_than_page = Some(smaller);
                v.subset_faster_than_page = Some(faster);
                let relation = if (1.0..2.0).contains(&smaller) {
                    "barely smaller".to_string()
                } else if smaller >= 1.0 {
                    format!("{} smaller", ratio(smaller))
                } else {
                    format!("{} larger", ratio(1.0 / smaller))
                };
                let speed = if faster >= 1.0 {
                    format!("{} faster", ratio(faster))
                } else {
                    format!("{} slower", ratio(1.0 / faster))
                };
                sentences.push(format!(
                    "A page subset ({}) is {relation} and {speed} to round-trip than a full Page ({} vs {} median; {} vs {} p50).",
                    fields.join(", "),
                    bytes(qb.median),
                    bytes(pb.median),
                    nanos(q.roundtrip_ns.p50),
                    nanos(p.roundtrip_ns.p50)
                ));
                let pages = p.objects as f64;
                sentences.push(format!(
                    "Shipping every one of the {} pages would cost about {} of pickling as full Pages versus {} as subsets (p50 round trip x pages).",
                    p.objects,
                    nanos((p.roundtrip_ns.p50 as f64 * pages) as u64),
                    nanos((q.roundtrip_ns.p50 as f64 * pages) as u64)
                ));
                // Only a graph-dragging Page makes a large subset suspicious: its fields may drag too.
                if v.page_drags_site && qb.max as f64 > 0.5 * pb.median as f64 {
                    sentences.push(format!(
                        "Some subsets are nearly as large as a full Page (max {}): a selected field drags the graph along too (see Why).",
                        bytes(qb.max)
                    ));
                }
            }
            (_, None) if !q.picklable => sentences.push(format!(
                "The page subset is not picklable either ({}).",
                q.error.as_deref().unwrap_or("unknown error")
            )),
            _ => {}
        }
    }
    if let Some(sg) = suggestion {
        let measured = find(PayloadKind::PageSuggested)
            .and_then(|p| p.bytes.as_ref().map(|b| (b.median, p.roundtrip_ns.p50)));
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
        sentences.push(s);
    }
    for note in notes {
        sentences.push(format!("(Note: {note}.)"));
    }
    v.text = sentences.join(" ");
    v
}

/// The one-line answer to "is the Site picklable cheaply?", from the measured payloads and the
/// per-strategy verdicts.
pub fn answer(payloads: &[PayloadJson], verdicts: &[VerdictRow]) -> String {
    let Some(site) = payloads.iter().find(|p| p.name == PayloadKind::Site) else {
        return "No Site was measured.".into();
    };
    if !site.picklable {
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
                if site.root_causes.len() > 3 { ", ..." } else { "" }
            ));
        }
        if let Some(fix) = &site.repaired {
            s.push_str(&format!(" {}.", after_repairs(fix)));
        }
        return s;
    }
    let size = site.bytes.as_ref().map_or(0, |b| b.median);
    let mut s = format!(
        "The Site pickles ({}, {} per round trip at p50)",
        bytes(size),
        nanos(site.roundtrip_ns.p50)
    );
    let describe = |v: &VerdictRow| match (v.class, v.transfer_share) {
        (crate::model::VerdictClass::Unknown, _) => {
            format!("unclassified via {} (no render cost)", v.transport)
        }
        (_, Some(share)) => format!(
            "{} via {} ({:.1}% of render time)",
            v.class.word(),
            v.transport,
            share * 100.0
        ),
        (_, None) => format!("not shippable via {}", v.transport),
    };
    let site_rows: Vec<String> = verdicts
        .iter()
        .filter(|v| v.payload == PayloadKind::Site)
        .map(describe)
        .collect();
    if site_rows.is_empty() {
        s.push('.');
        return s;
    }
    s.push_str(&format!(
        "; shipping it once per worker is {}",
        site_rows.join(", ")
    ));
    // The best per-page payload by its best copying transport.
    let best = verdicts
        .iter()
        .filter(|v| v.payload != PayloadKind::Site && v.transfer_share.is_some())
        .min_by(|a, b| a.transfer_share.partial_cmp(&b.transfer_share).unwrap());
    if let Some(b) = best {
        s.push_str(&format!(
            "; the cheapest per-page option is `{}` via {}: {} ({:.2}% of render time)",
            b.payload,
            b.transport,
            b.class.word(),
            b.transfer_share.unwrap_or(0.0) * 100.0
        ));
    }
    s.push('.');
    s
}

/// "after repairs (1 RLock -> None, 57 mappingproxy -> dict): 571.3 KB, 9.1 ms round trip p50, practical (2.1% of render)"
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
                (Some(c), Some(share)) => format!(", {} ({:.2}% of render)", c.word(), share * 100.0),
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

/// "At 10,000 pages (projection) the Site would pickle to 77.5 MB (75.1–79.9 MB), ..."
pub fn projection(g: &GrowthJson) -> String {
    let Some(pages) = crate::growth::PROJECT_TO.first().copied() else {
        return String::new();
    };
    let mut parts = Vec::new();
    // A full Page that drags the Site projects like the Site: left out.
    for p in g
        .projections
        .iter()
        .filter(|p| p.pages == pages && p.payload != PayloadKind::Page)
    {
        let what = if p.payload == PayloadKind::Site {
            "the Site would pickle to".to_string()
        } else {
            format!("a median `{}` would pickle to", p.payload)
        };
        if let (Some(b), Some(lo), Some(hi)) = (p.bytes, p.bytes_low, p.bytes_high) {
            let mut s = format!(
                "{what} {} ({}–{})",
                bytes(b as u64),
                bytes(lo as u64),
                bytes(hi as u64)
            );
            if let Some(rt) = p.roundtrip_ns {
                s.push_str(&format!(", {} per round trip at p50", nanos(rt as u64)));
            }
            parts.push(s);
        }
    }
    if parts.is_empty() {
        return String::new();
    }
    let bends: Vec<String> = g
        .fits
        .iter()
        .filter(|f| f.bends)
        .map(|f| {
            format!(
                "`{}` {} grows like pages^{:.2}",
                f.payload,
                f.quantity,
                f.exponent.unwrap_or(f64::NAN)
            )
        })
        .collect();
    let mut s = format!(
        "At {} pages (a projection from {} measured copies, 95% interval) {}.",
        crate::units::thousands(pages),
        g.factors.len(),
        parts.join("; ")
    );
    if !bends.is_empty() {
        s.push_str(&format!(
            " The measured points bend away from a line: {}.",
            bends.join(", ")
        ));
    }
    s
}
