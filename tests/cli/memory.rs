//! What the measuring phase keeps in memory: one pickle and one unpickled copy at a time,
//! checked from inside a project's own objects (no timing, no resident-set threshold: those are
//! `scripts/bench memory`'s).
use crate::util::*;

/// A Site of 1 MiB of text whose Pages drag it (a Page's pickle is the whole Site): every pickle
/// of either is over the measuring loop's 256 KiB collection threshold, and the copies are cyclic,
/// so only a collection frees them. The Site's `__reduce__` runs inside every `pickle.dumps` of
/// the Site or a Page and notes how much Python memory is allocated then (tracemalloc: exact
/// counts); the function it names runs inside every `pickle.loads` and notes how many earlier
/// copies are still alive (weak references). Both go to RECORD as they change.
const PROJECT: &str = r#"
import json, tracemalloc, weakref

tracemalloc.start()

RECORD = __RECORD__
TEXT_BYTES = 1 << 20
_copies = weakref.WeakSet()
_seen = {"copies": 0, "alive_at_copy": [], "traced_at_dumps": []}


def _save():
    with open(RECORD, "w") as f:
        json.dump(_seen, f)


def _site_copy():
    _seen["alive_at_copy"].append(len(_copies))
    site = Site.__new__(Site)
    _copies.add(site)
    _seen["copies"] += 1
    _save()
    return site


class Site:
    def __init__(self):
        self.text = "x" * TEXT_BYTES
        self.pages = [Page(self, n) for n in range(6)]

    def __reduce__(self):
        _seen["traced_at_dumps"].append(tracemalloc.get_traced_memory()[0])
        _save()
        return (_site_copy, (), self.__dict__)


class Page:
    def __init__(self, site, n):
        self.site = site
        self.source_path = "page-%d.md" % n
        self.content = "page %d " % n * 20


def load(root):
    return Site()
"#;

#[test]
fn the_measuring_phase_holds_one_pickle_and_one_copy_at_a_time() {
    let tmp = TempDir::new("memory");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    let record = tmp.path().join("record.json");
    let module = PROJECT.replace("__RECORD__", &format!("{:?}", record.to_str().unwrap()));
    std::fs::write(project.join("bigsite.py"), module).unwrap();
    let out = tmp.path().join("out");
    let o = analyze(
        &project,
        &out,
        &[
            "--loader",
            "bigsite:load",
            "--no-diagnose",
            "--no-transports",
            "--budget",
            "5",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let seen: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let r = read_results(&out);

    // Every timed loads of the Site and of a Page made one copy of the Site; calibration made
    // more. When each was made, no earlier copy was alive: each was collected right after its
    // loads, not left to pile up.
    let timed_loads: u64 = ["site", "page"]
        .iter()
        .map(|name| payload(&r, name)["loads_ns"]["samples"].as_u64().unwrap())
        .sum();
    let copies = seen["copies"].as_u64().unwrap();
    assert!(
        timed_loads >= 2 && copies >= timed_loads,
        "{copies} copies, {timed_loads} timed loads"
    );
    let alive: Vec<u64> = sorted_u64(&seen["alive_at_copy"]);
    assert_eq!(alive.len() as u64, copies);
    assert_eq!(
        alive.last(),
        Some(&0),
        "earlier copies alive when one was made: {alive:?}"
    );

    // When each pickle was being made, the Python memory allocated was what it was at the first
    // one, within far less than one pickle (each is over 1 MiB): no earlier pickle, and no copy,
    // was still held.
    let site_bytes = payload(&r, "site")["bytes"]["max"].as_u64().unwrap();
    let traced = sorted_u64(&seen["traced_at_dumps"]);
    assert!(traced.len() as u64 >= timed_loads, "{traced:?}");
    let spread = traced.last().unwrap() - traced.first().unwrap();
    assert!(
        spread < site_bytes / 4,
        "Python memory at the start of a pickle varied by {spread} B (a pickle is {site_bytes} B): {traced:?}"
    );

    // The sizes are the real ones.
    let truth = independent_sizes(&project, 5, "source_path,content", Some("bigsite:load"));
    assert_eq!(site_bytes, truth["site"].as_u64().unwrap());
    assert!(site_bytes > 1 << 20, "{site_bytes}");
    assert_eq!(reported_sizes(payload(&r, "page")), sorted_u64(&truth["page"]));
}
