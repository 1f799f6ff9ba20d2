//! Per-item cost with requests in flight: every measured transport and every results-back row
//! carries a stream, its figures hang together, and the idle round trip is called latency. The
//! checks run inside the analyze tests that measure transports (on every site they run on).
use crate::util::*;
use serde_json::Value;

/// Requests waiting per worker (settings' `STREAM_IN_FLIGHT`; fewer only where their pickles
/// would not fit half the memory), and items planned per request slot (`STREAM_ITEMS_PER_SLOT`).
const IN_FLIGHT: u64 = 4;
const ITEMS_PER_SLOT: u64 = 8;

/// Whether the transport pickles the payload out and has the worker unpickle it (thread hands
/// it over by reference, fork shares it).
fn pickles_out(transport: &str) -> bool {
    !matches!(transport, "thread" | "fork")
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A stream's own figures: items of planned, one main-interpreter sample per item, and the
/// main interpreter's CPU time within the stream's wall time.
fn assert_stream_figures(s: &Value, what: &str) -> u64 {
    let items = u(&s["items"]);
    assert!(items > 0, "{what}: no item streamed: {s}");
    assert!(items <= u(&s["planned"]), "{what}: {s}");
    let (in_flight, workers) = (u(&s["in_flight"]), u(&s["workers"]));
    assert!((1..=IN_FLIGHT).contains(&in_flight), "{what}: {s}");
    assert!(workers >= 1, "{what}");
    assert_eq!(
        u(&s["planned"]),
        ITEMS_PER_SLOT * in_flight * workers,
        "{what}: {s}"
    );
    assert!(
        items >= in_flight,
        "{what}: fewer items than one worker's requests: {s}"
    );
    assert_eq!(
        u(&s["main_ns"]["samples"]),
        items,
        "{what}: one main sample per item"
    );
    assert!(u(&s["main_ns"]["min"]) > 0, "{what}: {s}");
    // The main thread's CPU time cannot exceed the wall time of the stream it ran in (1%: the
    // summary's mean is a histogram's, to 3 significant digits).
    let main_total = s["main_ns"]["mean"].as_f64().unwrap() * items as f64;
    let wall_total = s["wall_ns_per_item"].as_f64().unwrap() * items as f64;
    assert!(
        main_total <= wall_total * 1.01,
        "{what}: main {main_total} > wall {wall_total}"
    );
    assert!(u(&s["main_ns"]["max"]) as f64 <= wall_total * 1.01, "{what}: {s}");
    items
}

/// Every measured transport x payload has a stream (unmeasured ones none); results back too.
pub fn assert_streams(r: &Value, report_md: &str, terminal: &str) {
    for t in r["transports"].as_array().unwrap() {
        let (name, payload_name) = (t["name"].as_str().unwrap(), t["payload"].as_str().unwrap());
        let what = format!("{name}/{payload_name}");
        let s = &t["stream"];
        if t["available"] != true {
            assert!(s.is_null(), "{what}: a stream without round trips: {t}");
            continue;
        }
        assert!(t["stream_reason"].is_null(), "{what}: {t}");
        let items = assert_stream_figures(s, &what);
        let sizes = reported_sizes(payload(r, payload_name));
        if pickles_out(name) {
            // The worker's own unpickling, per item, and the bytes it got: the payload's pickles.
            assert_eq!(u(&s["worker_ns"]["samples"]), items, "{what}");
            assert!(u(&s["worker_ns"]["min"]) > 0, "{what}: {s}");
            let (least, most) = (sizes[0], *sizes.last().unwrap());
            assert!(
                u(&s["bytes"]["min"]) >= least && u(&s["bytes"]["max"]) <= most,
                "{what}: {s} vs {sizes:?}"
            );
            if payload_name == "site" {
                let site = u(&payload(r, "site")["bytes"]["total"]);
                assert_eq!(
                    (u(&s["bytes"]["min"]), u(&s["bytes"]["max"])),
                    (site, site),
                    "{what}"
                );
                assert_eq!(u(&s["bytes"]["total"]), site * items, "{what}");
            }
        } else {
            assert_eq!(
                u(&s["worker_ns"]["samples"]),
                0,
                "{what}: nothing to unpickle: {s}"
            );
            assert_eq!(u(&s["bytes"]["total"]), 0, "{what}: nothing pickled: {s}");
        }
    }
    for b in r["results_back"].as_array().unwrap() {
        let name = b["transport"].as_str().unwrap();
        let what = format!("results back/{name}");
        if b["available"] != true {
            assert!(b["stream"].is_null(), "{what}: {b}");
            continue;
        }
        let s = &b["stream"];
        let items = assert_stream_figures(s, &what);
        if name == "thread" {
            assert_eq!(u(&s["worker_ns"]["samples"]), 0, "{what}: by reference: {s}");
            assert_eq!(u(&s["bytes"]["total"]), 0, "{what}");
        } else {
            // Pickled in the worker, and the bytes that came back are the rendered pages' pickles.
            assert_eq!(u(&s["worker_ns"]["samples"]), items, "{what}");
            let sent = sorted_u64(&b["result_bytes"]);
            assert!(u(&s["bytes"]["min"]) >= sent[0], "{what}: {s} vs {sent:?}");
            assert!(
                u(&s["bytes"]["max"]) <= *sent.last().unwrap(),
                "{what}: {s} vs {sent:?}"
            );
        }
    }
    // The idle figure is named as latency in both tables, the per-item columns beside it.
    let transports = report_md
        .split("## Transports")
        .nth(1)
        .expect("a Transports section");
    for table in ["| transport | payload |", "| transport | results |"] {
        let header = transports
            .lines()
            .find(|l| l.starts_with(table))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(
            header.contains("| idle round trip (latency) p50 / p99 | samples | main per item | worker per item | wall per item |"),
            "{header}"
        );
    }
    assert!(terminal.contains("idle round trip (latency) p50"), "{terminal}");
}
