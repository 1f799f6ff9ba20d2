//! Totals over the whole site from sampled costs: a share of render time is Σ transfer / Σ
//! render, each total estimated as the sample's mean times the pages (or workers) it stands
//! for, with a bootstrap interval. Render times are skewed (list and tag pages cost ten times a
//! post), so a ratio of medians can be off by a factor of four from the share of totals.
use crate::model::transport::DominantPage;
use hdrhistogram::Histogram;

/// Bootstrap resamples per interval: enough that the 2.5% and 97.5% quantiles move by well
/// under a tenth of a percentage point from seed to seed.
const RESAMPLES: usize = 2_000;
/// Samples kept from a histogram for resampling (counts scaled down beyond this).
const MAX_SAMPLES: u64 = 5_000;

/// One sampled cost and how many times the site pays it (pages, or workers for a whole-Site
/// copy).
pub struct Part<'a> {
    pub samples: &'a [u64],
    pub times: f64,
}

impl Part<'_> {
    pub fn total(&self) -> f64 {
        mean(self.samples) * self.times
    }
}

pub fn mean(samples: &[u64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.iter().map(|&v| v as f64).sum::<f64>() / samples.len() as f64
}

/// A histogram's recorded values as samples (each bucket's middle value, as `Histogram::mean`
/// counts it, repeated by its count; counts
/// scaled down proportionally past `MAX_SAMPLES`, every recorded bucket kept at least once).
pub fn samples_of(h: &Histogram<u64>) -> Vec<u64> {
    let len = h.len();
    let scale = if len > MAX_SAMPLES {
        MAX_SAMPLES as f64 / len as f64
    } else {
        1.0
    };
    let mut out = Vec::new();
    for v in h.iter_recorded() {
        let n = ((v.count_at_value() as f64 * scale).round() as u64).max(1);
        let value = h.median_equivalent(v.value_iterated_to());
        out.extend(std::iter::repeat_n(value, n as usize));
    }
    out
}

/// The few sampled pages that weigh most in the render total: the slowest first, up to `max`,
/// stopping once they make half of it. Empty when the samples are not named page by page.
pub fn dominant_pages(render_ns: &[u64], pages: &[String], max: usize) -> Vec<DominantPage> {
    let total: f64 = render_ns.iter().map(|&v| v as f64).sum();
    if pages.len() != render_ns.len() || total <= 0.0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..render_ns.len()).collect();
    order.sort_by(|&a, &b| render_ns[b].cmp(&render_ns[a]).then(pages[a].cmp(&pages[b])));
    let mut out: Vec<DominantPage> = Vec::new();
    for k in order.into_iter().take(max) {
        if out.iter().map(|d| d.share).sum::<f64>() >= 0.5 {
            break;
        }
        out.push(DominantPage {
            page: pages[k].clone(),
            render_ns: render_ns[k],
            share: render_ns[k] as f64 / total,
        });
    }
    out
}

/// Σ parts / render total, and its 95% interval: every sample resampled with replacement,
/// independently (the parts and the render were timed on different objects).
pub fn share_with_interval(parts: &[Part], render: &Part) -> Option<(f64, [f64; 2])> {
    let render_total = render.total();
    if render_total <= 0.0 || parts.iter().any(|p| p.samples.is_empty()) {
        return None;
    }
    let share = parts.iter().map(Part::total).sum::<f64>() / render_total;
    let mut rng = SplitMix(0x5eed_cafe_f00d_u64);
    let mut shares: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let out: f64 = parts
                .iter()
                .map(|p| rng.resampled_mean(p.samples) * p.times)
                .sum();
            out / (rng.resampled_mean(render.samples) * render.times)
        })
        .filter(|s| s.is_finite())
        .collect();
    shares.sort_by(f64::total_cmp);
    let at = |q: f64| shares[((shares.len() - 1) as f64 * q).round() as usize];
    Some((share, [at(0.025), at(0.975)]))
}

/// A small deterministic generator: the same samples give the same interval in every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn resampled_mean(&mut self, samples: &[u64]) -> f64 {
        let n = samples.len() as u64;
        let sum: f64 = (0..n).map(|_| samples[(self.next() % n) as usize] as f64).sum();
        sum / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_pages_are_named_until_they_make_half_the_render_total() {
        let names: Vec<String> = ["a.md", "tags/index", "b.md", "c.md"].map(String::from).into();
        // 100 ms of 160: the tag page alone is 62.5% of the sampled render time.
        let d = dominant_pages(&[20, 100, 20, 20], &names, 3);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].page.as_str(), d[0].render_ns), ("tags/index", 100));
        assert!((d[0].share - 0.625).abs() < 1e-12);
        // Even times: up to `max` pages, ties by name, each a quarter.
        let d = dominant_pages(&[5, 5, 5, 5], &names, 3);
        let named: Vec<&str> = d.iter().map(|p| p.page.as_str()).collect();
        assert_eq!(named, ["a.md", "b.md"]);
        assert!(d.iter().all(|p| (p.share - 0.25).abs() < 1e-12));
        // Samples not named page by page (a histogram only): nobody is named.
        assert!(dominant_pages(&[5, 5], &names, 3).is_empty());
        assert!(dominant_pages(&[], &[], 3).is_empty());
    }
    use crate::model::stats::new_histogram;

    #[test]
    fn a_share_of_totals_is_not_a_ratio_of_medians_on_skewed_renders() {
        // 50 posts at 1 ms and 10 list pages at 20 ms: median 1 ms, mean 4.17 ms.
        let mut render: Vec<u64> = vec![1_000_000; 50];
        render.extend(vec![20_000_000; 10]);
        let transfer = vec![100_000u64; 30];
        let (share, [low, high]) = share_with_interval(
            &[Part {
                samples: &transfer,
                times: 600.0,
            }],
            &Part {
                samples: &render,
                times: 600.0,
            },
        )
        .unwrap();
        let expected = 100_000.0 / (250_000_000.0 / 60.0);
        assert!((share - expected).abs() < 1e-12, "{share} vs {expected}");
        // The ratio of medians would say 10%; the share of totals is 2.4%.
        assert!(share < 0.1 / 4.0, "{share}");
        assert!(low < share && share < high, "{low} {share} {high}");
        // The interval comes from the render's spread: a uniform render gives none.
        let flat = vec![4_166_667u64; 60];
        let (_, [l, h]) = share_with_interval(
            &[Part {
                samples: &transfer,
                times: 600.0,
            }],
            &Part {
                samples: &flat,
                times: 600.0,
            },
        )
        .unwrap();
        assert_eq!(l, h);
    }

    #[test]
    fn parts_add_and_a_missing_sample_gives_no_share() {
        let render = vec![2_000u64; 10];
        let out = vec![10u64; 5];
        let back = vec![30u64; 5];
        let (share, _) = share_with_interval(
            &[
                Part {
                    samples: &out,
                    times: 4.0,
                },
                Part {
                    samples: &back,
                    times: 100.0,
                },
            ],
            &Part {
                samples: &render,
                times: 100.0,
            },
        )
        .unwrap();
        assert!((share - (40.0 + 3_000.0) / 200_000.0).abs() < 1e-12);
        assert!(
            share_with_interval(
                &[Part {
                    samples: &[],
                    times: 1.0
                }],
                &Part {
                    samples: &render,
                    times: 1.0
                }
            )
            .is_none()
        );
        assert!(
            share_with_interval(
                &[Part {
                    samples: &out,
                    times: 1.0
                }],
                &Part {
                    samples: &[],
                    times: 1.0
                }
            )
            .is_none()
        );
    }

    #[test]
    fn histogram_samples_keep_the_mean() {
        let mut h = new_histogram();
        h.record_n(1_000, 900).unwrap();
        h.record_n(50_000, 100).unwrap();
        let s = samples_of(&h);
        assert_eq!(s.len(), 1_000);
        assert!(
            (mean(&s) - h.mean()).abs() / h.mean() < 1e-3,
            "{} {}",
            mean(&s),
            h.mean()
        );
        let mut big = new_histogram();
        big.record_n(7, 1_000_000).unwrap();
        big.record_n(9_000, 1).unwrap();
        let s = samples_of(&big);
        assert_eq!(s.len() as u64, MAX_SAMPLES + 1, "the rare bucket is kept once");
    }
}
