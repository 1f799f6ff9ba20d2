//! The one-paragraph answer: how `site`, `page` and `page_subset` compare, from measured numbers.
use crate::output::format::{bytes, nanos, ratio};
use crate::report::model::PayloadJson;
use serde::Serialize;

/// A Page this close to the Site's size is taken to carry the Site along.
pub const DRAG_FRACTION: f64 = 0.5;

#[derive(Serialize, Debug, Clone, Default)]
pub struct Verdict {
    pub text: String,
    /// A single Page pickle is at least DRAG_FRACTION of the whole Site's.
    pub page_drags_site: bool,
    pub page_to_site_bytes: Option<f64>,
    pub subset_smaller_than_page: Option<f64>,
    pub subset_faster_than_page: Option<f64>,
}

pub fn judge(payloads: &[PayloadJson], fields: &[String]) -> Verdict {
    let find = |name: &str| payloads.iter().find(|p| p.name == name);
    let (site, page, subset) = (find("site"), find("page"), find("page_subset"));
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
        Some(s) => sentences.push(format!(
            "The full Site is not picklable ({}), so it cannot be shipped to worker interpreters as it is.",
            s.error.as_deref().unwrap_or("unknown error")
        )),
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
                let relation = if smaller < 2.0 && smaller >= 1.0 {
                    "barely smaller (a selected field drags the graph along)".to_string()
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
                if qb.max as f64 > 0.5 * pb.median as f64 {
                    sentences.push(format!(
                        "Some subsets are still large (max {}): a selected field carries more than page data.",
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
    v.text = sentences.join(" ");
    v
}
