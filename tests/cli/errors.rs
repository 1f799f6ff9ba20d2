//! Bad input: one `error:` line naming the problem, a non-zero exit, nothing left behind.
use crate::util::*;
use std::path::Path;

fn analyze(site: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "analyze",
        site.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--budget",
        "2",
        "--no-transports",
    ];
    args.extend_from_slice(extra);
    picklecost(&args)
}

fn with_python<'a>(extra: &[&'a str], py: &'a str) -> Vec<&'a str> {
    let mut v = vec!["--python", py];
    v.extend_from_slice(extra);
    v
}

#[test]
fn site_dir_missing_or_a_file() {
    let tmp = TempDir::new("err-missing");
    let out = tmp.path().join("out");
    let py = python();
    let o = analyze(
        &tmp.path().join("nope"),
        &out,
        &with_python(&[], py.to_str().unwrap()),
    );
    assert_one_error_line(&o, "does not exist");
    let file = tmp.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let o = analyze(&file, &out, &with_python(&[], py.to_str().unwrap()));
    assert_one_error_line(&o, "is a file, not a directory");
    assert!(!out.exists(), "no report directory may be left behind");
}

#[test]
fn a_directory_that_is_no_site() {
    let tmp = TempDir::new("err-nosite");
    let site = tmp.path().join("site");
    std::fs::create_dir(&site).unwrap();
    let out = tmp.path().join("out");
    let py = python();
    let o = analyze(&site, &out, &with_python(&[], py.to_str().unwrap()));
    assert_one_error_line(&o, "--loader module:function");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(&site).unwrap().count(), 0);
}

#[test]
fn broken_bengal_toml() {
    let tmp = TempDir::new("err-toml");
    let site = tmp.path().join("site");
    std::fs::create_dir_all(site.join("content")).unwrap();
    std::fs::write(site.join("bengal.toml"), "[site\ntitle = \"x\"\n").unwrap();
    let out = tmp.path().join("out");
    let py = python();
    let o = analyze(&site, &out, &with_python(&[], py.to_str().unwrap()));
    assert_one_error_line(&o, "bengal.toml is not valid TOML");
    assert!(!out.exists());
}

#[test]
fn loader_errors_show_their_cause() {
    let tmp = TempDir::new("err-loader");
    let site = tmp.path().join("proj");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(
        site.join("myloader.py"),
        "def ok(root):\n    return ('s', [1])\n\ndef bad(root):\n    raise RuntimeError('database password missing')\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let py = python();
    let py = py.to_str().unwrap();
    for (loader, expected) in [
        ("missingmod:load", "--loader module 'missingmod' not found"),
        ("myloader:nothere", "has no function 'nothere'"),
        ("myloader:bad", "raised RuntimeError: database password missing"),
    ] {
        let o = analyze(&site, &out, &with_python(&["--loader", loader], py));
        assert_one_error_line(&o, expected);
    }
    assert!(!out.exists());
    assert!(
        !site.join("__pycache__").exists(),
        "importing the loader wrote bytecode into the site"
    );
}

#[test]
fn unknown_fields_list_the_available_attributes() {
    let tmp = TempDir::new("err-fields");
    let out = tmp.path().join("out");
    let py = python();
    let o = analyze(
        &tiny_blog(),
        &out,
        &with_python(&["--fields", "content,no_such_field"], py.to_str().unwrap()),
    );
    assert_one_error_line(&o, "unknown page field(s) no_such_field");
    let err = stderr(&o);
    assert!(
        err.contains("available: ") && err.contains("metadata") && err.contains("source_path"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn out_inside_the_site_or_unwritable() {
    let tmp = TempDir::new("err-out");
    let py = python();
    let site = tiny_blog_copy(&tmp);
    let before = snapshot(&site);
    let o = analyze(
        &site,
        &site.join("report"),
        &with_python(&[], py.to_str().unwrap()),
    );
    assert_one_error_line(&o, "is inside the site directory");
    let sneaky = tmp.path().join("elsewhere/../blog/content/r");
    let o = analyze(&site, &sneaky, &with_python(&[], py.to_str().unwrap()));
    assert_one_error_line(&o, "is inside the site directory");
    assert_eq!(before, snapshot(&site));

    let file = tmp.path().join("plainfile");
    std::fs::write(&file, "x").unwrap();
    let o = analyze(
        &site,
        &file.join("report"),
        &with_python(&[], py.to_str().unwrap()),
    );
    assert_one_error_line(&o, "cannot write the report to --out");
}

#[test]
fn bad_protocol_and_budget_are_usage_errors() {
    let o = picklecost(&["analyze", tiny_blog().to_str().unwrap(), "--protocol", "9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error:"));
    // `--budget -1` would be refused by the argument parser as an unknown flag `-1`: the value
    // is attached so that the tool's own check is the one that answers.
    for (value, shown) in [("-1", "-1"), ("0", "0"), ("nan", "NaN")] {
        let tmp = TempDir::new("err-budget");
        let out = tmp.path().join("out");
        let o = crate::util::analyze(&tiny_blog(), &out, &[&format!("--budget={value}")]);
        assert_one_error_line(
            &o,
            &format!("--budget must be a positive number of seconds, got {shown}"),
        );
        assert!(!stderr(&o).contains("unexpected argument"), "{}", stderr(&o));
        assert!(!out.exists());
    }
}

/// One `error:` line naming the flag, a non-zero exit, no report directory: for each value.
fn assert_rejected(cases: &[(&[&str], &str)]) {
    for (args, message) in cases {
        let tmp = TempDir::new("err-thresholds");
        let out = tmp.path().join("out");
        let o = crate::util::analyze(&tiny_blog(), &out, args);
        assert_one_error_line(&o, message);
        assert!(!out.exists(), "{args:?}: a report directory was left behind");
    }
}

#[test]
fn bad_transport_budget_is_refused() {
    // The tool's own budget message (not the argument parser's). That it names
    assert_rejected(&[
        (
            &["--transport-budget=0"],
            "must be a positive number of seconds, got 0",
        ),
        (
            &["--transport-budget=-1"],
            "must be a positive number of seconds, got -1",
        ),
        (
            &["--transport-budget=nan"],
            "must be a positive number of seconds, got NaN",
        ),
    ]);
}

#[test]
fn bad_transport_budget_error_names_its_flag() {
    assert_rejected(&[
        (&["--transport-budget=0"], "--transport-budget"),
        (&["--transport-budget=-1"], "--transport-budget"),
        (&["--transport-budget=nan"], "--transport-budget"),
    ]);
}

#[test]
fn practical_and_marginal_thresholds_are_checked() {
    assert_rejected(&[
        (
            &["--practical=0"],
            "--practical (0) must be above 0 and at most --marginal (0.25)",
        ),
        (&["--practical=-0.1"], "--practical (-0.1) must be above 0"),
        (&["--practical=nan"], "--practical (NaN) must be above 0"),
        (
            &["--practical=0.3", "--marginal=0.2"],
            "--practical (0.3) must be above 0 and at most --marginal (0.2)",
        ),
        (&["--marginal=0.01"], "at most --marginal (0.01)"),
    ]);
}

/// A `--fail-if` limit may name any payload kind, `site_extra` included (a kind the limit
/// parser once left out): the limit is accepted, never the usage error (exit 2), and it checks
/// the payload of that name when both runs have one.
#[test]
fn fail_if_accepts_every_payload_kind() {
    let tmp = TempDir::new("err-fail-if-kinds");
    let site = tmp.path().join("project");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(
        site.join("kindsite.py"),
        "class Page:\n\
         \x20   def __init__(self, n):\n\
         \x20       self.title = 'Page %d' % n\n\
         class Site:\n\
         \x20   def __init__(self):\n\
         \x20       self.pages = [Page(n) for n in range(4)]\n\
         def load(root):\n\
         \x20   return Site()\n",
    )
    .unwrap();
    let run = tmp.path().join("run");
    let o = crate::util::analyze(
        &site,
        &run,
        &[
            "--loader",
            "kindsite:load",
            "--budget",
            "1",
            "--no-transports",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "analyze: {}", stderr(&o));

    let limit = ["--json", "--fail-if", "site_extra.size:+5%"];
    let o = compare(&run, &run, &limit);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "--fail-if site_extra.size:+5% must be accepted: {:?} {}",
        o.status.code(),
        stderr(&o)
    );
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(c["limits"][0]["checked"], serde_json::json!([]), "{c}");

    // The same run with its Site object recorded as the `site_extra` payload: the limit checks it.
    let extra = tmp.path().join("extra");
    std::fs::create_dir_all(extra.join("histograms")).unwrap();
    let mut results = read_results(&run);
    for p in results["payloads"].as_array_mut().unwrap() {
        if p["name"] == "site" {
            p["name"] = "site_extra".into();
        }
    }
    std::fs::write(extra.join("results.json"), results.to_string()).unwrap();
    for entry in std::fs::read_dir(run.join("histograms")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let renamed = match name.strip_prefix("site-") {
            Some(op) => format!("site_extra-{op}"),
            None => name.clone(),
        };
        std::fs::copy(
            run.join("histograms").join(&name),
            extra.join("histograms").join(renamed),
        )
        .unwrap();
    }
    let o = compare(&extra, &extra, &limit);
    assert_eq!(o.status.code(), Some(0), "identical sizes pass: {}", stderr(&o));
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        c["limits"][0]["checked"],
        serde_json::json!(["site_extra"]),
        "{c}"
    );
    assert_eq!(c["limits"][0]["exceeded"], false, "{c}");

    let o = compare(&run, &run, &["--fail-if", "pages.size:+5%"]);
    assert_eq!(o.status.code(), Some(2));
    assert_one_error_line(&o, "site_extra");
}
