//! picklecost run by a Python without per-interpreter queues (scripts/test installs the wheel into
//! a 3.12 or 3.11 venv, `PICKLECOST_OLD_BIN`): sub-interpreters are reported unavailable,
//! everything else completes.
use crate::util::*;
use std::process::Command;

#[test]
fn subinterpreters_unavailable_the_rest_completes() {
    let bin = std::env::var("PICKLECOST_OLD_BIN")
        .expect("PICKLECOST_OLD_BIN is not set: run the suite with scripts/test, which installs the wheel into a Python 3.12/3.11 venv too");
    let py = std::env::var("PICKLECOST_OLD_PYTHON")
        .expect("PICKLECOST_OLD_PYTHON is not set (scripts/test sets it)");
    let tmp = TempDir::new("oldpy");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("plainsite.py"),
        "class Page:\n    def __init__(self, n):\n        self.source_path = 'p%d' % n\n        self.content = 'word ' * (20 * n)\n        self.metadata = {'n': n}\n\nclass Site:\n    def __init__(self):\n        self.pages = [Page(n) for n in range(1, 9)]\n        for p in self.pages:\n            p.site = self\n\ndef load(root):\n    return Site()\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = Command::new(&bin)
        .args([
            "analyze",
            project.to_str().unwrap(),
            "--python",
            &py,
            "--out",
            out.to_str().unwrap(),
        ])
        .args([
            "--loader",
            "plainsite:load",
            "--budget",
            "20",
            "--transport-budget",
            "3",
        ])
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONUNBUFFERED")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_results(&out);
    let version = r["python"]["version"].as_str().unwrap();
    assert!(
        version.starts_with("3.12") || version.starts_with("3.11"),
        "{version}"
    );
    let sub = &r["transport_availability"]["subinterpreter"];
    assert_eq!(sub["available"], false);
    assert!(sub["reason"].as_str().unwrap().contains("needs 3.13+"), "{sub}");
    // Every transport is reported for every payload, unavailable or measured.
    let transports = r["transports"].as_array().unwrap();
    for name in ["thread", "subinterpreter", "process", "forkserver", "fork"] {
        for payload in ["site", "page", "page_subset"] {
            assert!(
                transports
                    .iter()
                    .any(|t| t["name"] == name && t["payload"] == payload),
                "{name}/{payload} missing: {transports:?}"
            );
        }
    }
    for t in transports {
        match t["name"].as_str().unwrap() {
            "subinterpreter" => {
                assert_eq!(t["available"], false);
                assert!(t["reason"].as_str().unwrap().contains("needs 3.13+"), "{t}");
            }
            "thread" | "process" | "forkserver" | "fork" => {
                assert_eq!(t["available"], true, "{t}");
                assert!(t["roundtrip_ns"]["samples"].as_u64().unwrap() >= 3, "{t}");
                // Streamed too: the per-item cost needs nothing newer than 3.11.
                assert!(t["stream"]["items"].as_u64().unwrap() > 0, "{t}");
                assert_eq!(t["stream_reason"], serde_json::Value::Null, "{t}");
            }
            other => panic!("unexpected transport {other}"),
        }
    }
    let imports = r["imports"].as_array().unwrap();
    assert!(
        imports
            .iter()
            .any(|i| i["payload"] == "page" && i["module"] == "plainsite"),
        "the page's module is checked: {imports:?}"
    );
    assert!(imports.iter().all(|i| i["isolated_ok"].is_null()), "{imports:?}");
    // The pickle measurements are all there.
    for name in ["site", "page", "page_subset"] {
        assert_eq!(payload(&r, name)["picklable"], true, "{name}");
    }
    assert_eq!(payload(&r, "page")["count"], 8);
    assert!(!project.join("__pycache__").exists());
}
