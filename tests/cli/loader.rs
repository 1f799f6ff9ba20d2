//! --loader on projects written for the test, and finding the Python environment.
use crate::util::*;

const PROJECT: &str = r#"
import threading

class Page:
    def __init__(self, site, n):
        self.site = site
        self.source_path = "page-%d.txt" % n
        self.body = "word " * (50 * n)
        self.meta = {"n": n, "tags": ["a", "b"]}

class Site:
    def __init__(self, root):
        self.root = str(root)
        self.lock = threading.Lock()  # makes the whole Site unpicklable
        self.pages = []

class Standalone:
    def __init__(self, n):
        self.source_path = "doc-%d.txt" % n
        self.body = "x" * (100 * n)

def load(root):
    site = Site(root)
    site.pages = [Page(site, n) for n in range(1, 8)]
    return site

def load_pair(root):
    return Site(root), [Standalone(n) for n in range(1, 6)]
"#;

#[test]
fn custom_loader_unpicklable_site_and_exact_page_sizes() {
    let tmp = TempDir::new("loader");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("projloader.py"), PROJECT).unwrap();
    let out = tmp.path().join("out");
    let o = analyze(
        &project,
        &out,
        &[
            "--loader",
            "projloader:load_pair",
            "--fields",
            "source_path",
            "--budget",
            "30",
            "--no-transports",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    assert_eq!(r["site"]["generator"], "custom:projloader:load_pair");
    assert_eq!(r["site"]["pages"], 5);
    let site = payload(&r, "site");
    assert_eq!(site["picklable"], false);
    assert!(
        site["error"]
            .as_str()
            .unwrap()
            .contains("cannot pickle '_thread.lock' object"),
        "{}",
        site["error"]
    );
    assert_eq!(site["count"], 0);
    let truth = independent_sizes(&project, 5, "source_path", Some("projloader:load_pair"));
    for name in ["page", "page_subset"] {
        let p = payload(&r, name);
        assert_eq!(p["picklable"], true);
        let got = reported_sizes(p);
        assert_eq!(got, sorted_u64(&truth[name]), "{name}");
    }
    let text = stdout(&o);
    assert!(
        text.contains("site not picklable: TypeError: cannot pickle '_thread.lock' object"),
        "{text}"
    );
    let culprits = site["failures"].as_array().unwrap();
    assert_eq!(culprits.len(), 1, "{culprits:?}");
    assert_eq!(culprits[0]["path"], "site.lock");
    assert_eq!(culprits[0]["type"], "_thread.lock");
    assert_eq!(culprits[0]["paths_reaching"], 1);
    assert!(text.contains("root cause: site.lock  (_thread.lock x1"), "{text}");
    assert!(!project.join("__pycache__").exists());

    // Pages that reference the unpicklable Site are unpicklable too, each one reported.
    let out2 = tmp.path().join("out2");
    let o = analyze(
        &project,
        &out2,
        &[
            "--loader",
            "projloader:load",
            "--fields",
            "source_path,meta",
            "--budget",
            "30",
            "--no-transports",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out2);
    let page = payload(&r, "page");
    assert_eq!(page["picklable"], false);
    assert_eq!(page["failures_count"], 7);
    assert!(
        page["error"].as_str().unwrap().contains("7 of 7"),
        "{}",
        page["error"]
    );
    let culprits = page["failures"].as_array().unwrap();
    assert_eq!(culprits.len(), 1, "{culprits:?}");
    assert_eq!(culprits[0]["path"], "page.site.lock");
    let subset = payload(&r, "page_subset");
    assert_eq!(subset["picklable"], true);
    assert_eq!(subset["count"], 7);
    // The suggestion leaves out the reference to the unpicklable Site.
    let fields: Vec<&str> = r["suggestion"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        !fields.contains(&"site") && fields.contains(&"body"),
        "{fields:?}"
    );
    assert_eq!(payload(&r, "page_suggested")["picklable"], true);
    assert!(!project.join("__pycache__").exists());
}

#[test]
fn a_payload_needing_a_module_refused_by_subinterpreters_is_not_shippable() {
    let tmp = TempDir::new("refused");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    // Importing this module imports tracemalloc, which an isolated 3.13 sub-interpreter refuses.
    std::fs::write(
        project.join("tracedpages.py"),
        "import tracemalloc\n\nclass Page:\n    def __init__(self, n):\n        self.source_path = 'p%d' % n\n        self.body = 'x' * n\n\nclass Site:\n    def __init__(self):\n        self.pages = [Page(n) for n in range(1, 6)]\n\ndef load(root):\n    return Site()\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = analyze(
        &project,
        &out,
        &[
            "--loader",
            "tracedpages:load",
            "--budget",
            "30",
            "--transport-budget",
            "4",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let imports = r["imports"].as_array().unwrap();
    let row = imports
        .iter()
        .find(|i| i["payload"] == "page" && i["module"] == "tracedpages")
        .expect("module checked");
    assert_eq!(row["isolated_ok"], false);
    assert!(
        row["error"]
            .as_str()
            .unwrap()
            .contains("does not support loading in subinterpreters"),
        "{row}"
    );
    let cell = r["transports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "subinterpreter" && t["payload"] == "page")
        .unwrap();
    assert_eq!(cell["available"], false);
    assert!(
        cell["reason"].as_str().unwrap().contains("not shippable"),
        "{cell}"
    );
    let verdict = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["payload"] == "page" && v["transport"] == "subinterpreter")
        .unwrap();
    assert_eq!(verdict["class"], "impractical");
    assert!(verdict["why"].as_str().unwrap().contains("not shippable"));
    // Plain dict subsets need no project module: they cross, and processes take everything.
    let subset = r["transports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "subinterpreter" && t["payload"] == "page_subset")
        .unwrap();
    assert_eq!(subset["available"], true, "{subset}");
    // ... but a worker there could not import the project's page module to render: blocked,
    // and never the answer.
    let subset_verdict = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["payload"] == "page_subset" && v["transport"] == "subinterpreter")
        .unwrap();
    assert_eq!(subset_verdict["class"], "blocked", "{subset_verdict}");
    assert!(
        subset_verdict["why"]
            .as_str()
            .unwrap()
            .starts_with("an isolated sub-interpreter cannot import the renderer `tracedpages`"),
        "{subset_verdict}"
    );
    assert!(!r["answer"].as_str().unwrap().contains("via subinterpreter:"));
    // A custom project has no render cost: shippable rows are unclassified, never guessed.
    assert_eq!(r["render"]["available"], false);
    let proc_page = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["payload"] == "page" && v["transport"] == "process")
        .unwrap();
    assert_eq!(proc_page["class"], "unknown");
    assert!(!project.join("__pycache__").exists());
}

/// A project whose objects take milliseconds to pickle: a Site of four Pages of 20,000 strings.
const KNOWN: &str = r#"
class Page:
    def __init__(self, n):
        self.source_path = "p%d.txt" % n
        self.body = ["word %d of page %d" % (i, n) for i in range(20000)]
        self.meta = {"n": n, "tags": list(range(500))}

class Site:
    def __init__(self):
        self.pages = [Page(n) for n in range(4)]

def load(root):
    return Site()
"#;

/// The reported medians are those of the same objects timed in a separate plain Python process
/// (tests/support/independent_timing.py) right after, within a generous factor (the two runs
/// share a machine with whatever else runs); the sizes are exactly len(pickle.dumps(obj, 5)).
#[test]
fn reported_latencies_match_an_independent_timing_of_the_same_objects() {
    let tmp = TempDir::new("latency");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("known.py"), KNOWN).unwrap();
    let out = tmp.path().join("out");
    let o = analyze(
        &project,
        &out,
        &[
            "--loader",
            "known:load",
            "--no-transports",
            "--no-diagnose",
            "--budget",
            "30",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let timing = std::process::Command::new(python())
        .arg("-B")
        .arg(root().join("tests/support/independent_timing.py"))
        .args([project.to_str().unwrap(), "known:load", "20"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("running the independent timing script");
    let truth = result_line(&timing, "independent_timing.py");
    for name in ["site", "page"] {
        let (p, t) = (payload(&r, name), &truth[name]);
        assert_eq!(p["picklable"], true, "{p}");
        assert_eq!(
            reported_sizes(p),
            sorted_u64(&t["bytes"]),
            "{name}: len(pickle.dumps(obj, 5))"
        );
        for op in ["dumps_ns", "loads_ns"] {
            let reported = p[op]["p50"].as_f64().unwrap();
            let independent = t[op].as_f64().unwrap();
            let ratio = reported / independent;
            assert!(
                (1.0 / 3.0..=3.0).contains(&ratio),
                "{name} {op}: reported p50 {reported} ns vs {independent} ns timed independently (x{ratio:.2})"
            );
        }
    }
    assert!(!project.join("__pycache__").exists());
}
