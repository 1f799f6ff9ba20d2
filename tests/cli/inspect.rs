//! `picklecost inspect` end to end: JSON shape, exit codes, unsafe globals never executed.
use crate::util::*;
use std::process::Command;

fn write_pickles(dir: &std::path::Path) -> serde_json::Value {
    // Real CPython pickles of one value at every protocol, and what pickletools says of them.
    let script = r#"
import json, pickle, pickletools, sys, collections, datetime, os
out = sys.argv[1]
value = {"n": [1, 2**70, -3.5, None, True], "s": "héllo" * 3, "b": b"\x00\x01",
         "t": (1, 2), "set": {1, 2}, "od": collections.OrderedDict(a=1),
         "when": datetime.date(2024, 1, 2)}
facts = {}
for proto in range(6):
    data = pickle.dumps(value, proto)
    name = "p%d.pkl" % proto
    open(os.path.join(out, name), "wb").write(data)
    ops = collections.Counter(op.name for op, arg, pos in pickletools.genops(data))
    facts[name] = {"size": len(data), "ops": dict(ops)}
print(json.dumps(facts))
"#;
    let out = Command::new(python())
        .arg("-B")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn json_report_matches_pickletools_for_every_protocol() {
    let tmp = TempDir::new("inspect");
    let facts = write_pickles(tmp.path());
    let o = picklecost(&["inspect", tmp.path().to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    for f in files {
        let name = std::path::Path::new(f["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let expected = &facts[name];
        assert_eq!(f["ok"], true, "{name}");
        assert_eq!(f["error"], serde_json::Value::Null);
        assert_eq!(f["size"], expected["size"], "{name}");
        let counts: std::collections::BTreeMap<String, u64> = f["opcodes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["count"].as_u64().unwrap()))
            .collect();
        let want: std::collections::BTreeMap<String, u64> = expected["ops"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(counts, want, "{name}: opcode histogram equals pickletools.genops");
        let bytes: u64 = f["opcodes"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v["bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(
            bytes,
            expected["size"].as_u64().unwrap(),
            "{name}: opcode bytes add up to the file"
        );
        let globals: Vec<&str> = f["globals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert!(
            globals.contains(&"collections.OrderedDict") && globals.contains(&"datetime.date"),
            "{name}: {globals:?}"
        );
        assert!(
            f["globals"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["unsafe"] == false)
        );
        assert_eq!(f["plain_data"], false);
        if name == "p2.pkl" {
            assert!(
                globals.contains(&"__builtin__.set"),
                "protocol 2 spells set as __builtin__.set"
            );
        }
        if name >= "p2.pkl" {
            assert_eq!(
                f["protocol"].as_u64().unwrap().to_string(),
                name[1..2].to_string()
            );
        }
    }
    assert_eq!(report["totals"]["files"], 6);
    assert_eq!(report["totals"]["failed"], 0);
}

#[test]
fn malicious_pickle_is_flagged_and_never_run() {
    let tmp = TempDir::new("evil");
    let marker = tmp.path().join("PWNED");
    let evil = tmp.path().join("evil.pkl");
    std::fs::write(&evil, format!("cos\nsystem\n(S'touch {}'\ntR.", marker.display())).unwrap();
    let o = picklecost(&["inspect", evil.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let g = &report["files"][0]["globals"][0];
    assert_eq!(g["name"], "os.system");
    assert_eq!(g["unsafe"], true);
    assert_eq!(report["totals"]["unsafe_globals"], 1);
    let text = picklecost(&["inspect", evil.to_str().unwrap()]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    assert!(stdout(&text).contains("UNSAFE") && stdout(&text).contains("WARNING"));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!marker.exists(), "the pickle's command ran");
}

#[test]
fn broken_streams_exit_1_with_offsets_and_others_still_reported() {
    let tmp = TempDir::new("broken");
    write_pickles(tmp.path());
    let good = std::fs::read(tmp.path().join("p4.pkl")).unwrap();
    std::fs::write(tmp.path().join("truncated.pkl"), &good[..good.len() / 2]).unwrap();
    std::fs::write(tmp.path().join("garbage.pkl"), b"\x80\x05\xff\xfe").unwrap();
    let o = picklecost(&["inspect", tmp.path().to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["totals"]["files"], 8);
    assert_eq!(report["totals"]["failed"], 2);
    for f in report["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        if path.ends_with("garbage.pkl") {
            assert_eq!(f["ok"], false);
            assert_eq!(f["error_offset"], 2);
            assert!(
                f["error"].as_str().unwrap().contains("offset 2"),
                "{}",
                f["error"]
            );
        } else if path.ends_with("truncated.pkl") {
            assert_eq!(f["ok"], false);
            assert!(f["error_offset"].as_u64().unwrap() <= (good.len() / 2) as u64);
        } else {
            assert_eq!(f["ok"], true, "{path}");
        }
    }
    let o = picklecost(&["inspect", tmp.path().join("missing.pkl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_one_error_line(&o, "does not exist");
}

#[test]
fn plain_data_is_recognised_and_dumped() {
    let tmp = TempDir::new("plain");
    let out = Command::new(python())
        .args([
            "-B",
            "-c",
            "import pickle,sys; open(sys.argv[1],'wb').write(pickle.dumps({'k': [1, 'two', 3.0]}, 4))",
        ])
        .arg(tmp.path().join("plain.pkl"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let o = picklecost(&[
        "inspect",
        tmp.path().join("plain.pkl").to_str().unwrap(),
        "--json",
        "--dump",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &report["files"][0];
    assert_eq!(f["plain_data"], true);
    assert_eq!(f["globals"].as_array().unwrap().len(), 0);
    let dump = f["streams"][0]["dump"].as_str().unwrap();
    assert!(dump.contains("two") && dump.contains('k'), "{dump}");
}

/// A file well past the size that is memory-mapped (and scanned with pages released behind
/// the scan) reports exactly what reading it whole does, and `--dump` still prints its value.
#[test]
fn large_plain_file_is_streamed_and_still_dumped() {
    let tmp = TempDir::new("large-plain");
    let path = tmp.path().join("large.pkl");
    let out = Command::new(python())
        .args([
            "-B",
            "-c",
            "import pickle,sys; open(sys.argv[1],'wb').write(pickle.dumps([(f'name-{i}', i, i * 0.5, 'x' * (i % 50)) for i in range(150_000)], 5))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(&path).unwrap().len() > 5 << 20);
    let p = path.to_str().unwrap();
    let mapped = picklecost(&["inspect", p, "--json", "--dump"]);
    assert_eq!(mapped.status.code(), Some(0), "{}", stderr(&mapped));
    let report: serde_json::Value = serde_json::from_slice(&mapped.stdout).unwrap();
    let f = &report["files"][0];
    assert_eq!(f["plain_data"], true);
    assert_eq!(f["opcodes"]["TUPLE4"], serde_json::Value::Null);
    assert_eq!(f["opcodes"]["TUPLE"]["count"], 150_000);
    assert_eq!(f["largest"][0]["size"], 49);
    let dump = f["streams"][0]["dump"].as_str().unwrap();
    assert!(
        dump.starts_with("[('name-0', 0, 0.0, ''), ('name-1', 1, 0.5, 'x'),"),
        "{dump}"
    );
    assert!(dump.ends_with('…'), "cut at --dump's limit: {dump}");

    let read = Command::new(crate::util::bin())
        .args(["inspect", p, "--json", "--dump"])
        .env("PICKLECOST_NO_MMAP", "1")
        .output()
        .unwrap();
    assert_eq!(read.status.code(), Some(0));
    assert_eq!(mapped.stdout, read.stdout);
}
