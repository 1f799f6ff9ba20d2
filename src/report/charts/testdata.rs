//! Synthetic measurements and SVG inspection shared by the chart tests.
use super::ChartPayload;
use hdrhistogram::Histogram;

/// Deterministic xorshift PRNG.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub fn hist() -> Histogram<u64> {
    Histogram::<u64>::new(3).unwrap()
}

/// Log-uniform-ish latencies in [lo_ns, hi_ns] with a heavy tail.
pub fn latencies(seed: u64, lo_ns: f64, hi_ns: f64, n: usize) -> Histogram<u64> {
    let mut r = Rng(seed);
    let mut h = hist();
    let (a, b) = (lo_ns.ln(), hi_ns.ln());
    for _ in 0..n {
        let u = r.next_f64().powi(4); // most samples near lo, tail to hi
        h.record((a + (b - a) * u).exp() as u64).unwrap();
    }
    h
}

pub fn sizes(seed: u64, lo: f64, hi: f64, n: usize) -> Vec<u64> {
    let mut r = Rng(seed);
    let (a, b) = (lo.ln(), hi.ln());
    (0..n)
        .map(|_| {
            let u = (r.next_f64() + r.next_f64() + r.next_f64()) / 3.0;
            (a + (b - a) * u).exp() as u64
        })
        .collect()
}

pub struct Data {
    pub name: &'static str,
    pub sizes: Vec<u64>,
    pub dumps: Histogram<u64>,
    pub loads: Histogram<u64>,
    pub roundtrip: Histogram<u64>,
}

impl Data {
    pub fn payload(&self) -> ChartPayload<'_> {
        ChartPayload {
            name: self.name,
            sizes: &self.sizes,
            dumps: &self.dumps,
            loads: &self.loads,
            roundtrip: &self.roundtrip,
        }
    }

    pub fn empty(name: &'static str) -> Data {
        Data {
            name,
            sizes: vec![],
            dumps: hist(),
            loads: hist(),
            roundtrip: hist(),
        }
    }
}

pub fn data(name: &'static str, seed: u64, size: (f64, f64), lat: (f64, f64)) -> Data {
    Data {
        name,
        sizes: sizes(seed, size.0, size.1, 500),
        dumps: latencies(seed + 1, lat.0 / 2.0, lat.1 / 2.0, 5000),
        loads: latencies(seed + 2, lat.0 / 2.0, lat.1 / 2.0, 5000),
        roundtrip: latencies(seed + 3, lat.0, lat.1, 5000),
    }
}

/// site ~ MBs and ms, page ~ tens of KB, page_subset ~ hundreds of bytes and µs:
/// latencies span 10µs..100ms overall.
pub fn sample() -> Vec<Data> {
    vec![
        data("site", 11, (400_000.0, 6_000_000.0), (2e6, 1e8)),
        data("page", 22, (8_000.0, 90_000.0), (1e5, 5e6)),
        data("page_subset", 33, (150.0, 2_500.0), (1e4, 4e5)),
    ]
}

/// A whole SVG document with text in it; returns it for further checks.
pub fn svg(s: String) -> String {
    assert!(
        s.trim_start().starts_with("<svg"),
        "not an svg: {}",
        &s[..s.len().min(80)]
    );
    assert!(s.trim_end().ends_with("</svg>"));
    assert!(s.contains("<text"), "no text elements");
    s
}

/// Contents of every `<text>` element, trimmed, with plotters' XML escapes undone.
pub fn texts(s: &str) -> Vec<String> {
    s.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            let raw = body[..body.find("</text>")?].trim();
            Some(
                raw.replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

/// Some `<text>` element is exactly `want`.
pub fn has_text(s: &str, want: &str) -> bool {
    texts(s).iter().any(|t| t == want)
}

/// Number of occurrences of an element, e.g. `count(s, "<polyline")`.
pub fn count(s: &str, element: &str) -> usize {
    s.matches(element).count()
}

/// Number of `<rect>` elements filled with `color` ("#RRGGBB", upper case as plotters writes it).
pub fn rects_filled(s: &str, color: &str) -> usize {
    let fill = format!("fill=\"{color}\"");
    s.split("<rect")
        .skip(1)
        .filter(|r| r[..r.find("/>").unwrap_or(r.len())].contains(&fill))
        .count()
}
