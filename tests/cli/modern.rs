//! Bengal 0.5 (Python 3.14) at both stages: its live graph does not pickle (page records hold
//! mapping views and locks), so the answer comes from the plain page view, the suggestion and
//! Bengal's own `PageView` — each measured, each classified against the real render cost. The
//! bodies run on every Bengal site of the project (and `shared::` on the showcase) whenever the
//! test environment's Bengal ships `bengal.snapshots`; `analyze::discovered_stage` and
//! `analyze::rendered_stage` hand over to them.
use crate::util::*;
use std::path::Path;

pub fn discovered_stage(site: &Path, pages: u64) {
    let before = snapshot(site);
    let out = TempDir::new("modern-discovered");
    let report = out.path().join("report");
    let o = analyze(site, &report, &["--budget", "30"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert_eq!(stderr(&o), "", "stderr must stay empty on success");
    assert_eq!(before, snapshot(site), "the site directory changed");
    assert_no_staging_left(&report);
    let r = read_results(&report);
    let fields = "source_path,_raw_content,metadata,output_path";
    let truth = independent_sizes(site, 5, fields, None);

    assert_eq!(r["python"]["version"].as_str().unwrap()[..4], installed().python);
    assert_eq!(r["site"]["generator_version"], installed().bengal.as_str());
    assert_memory_reported(&r);
    assert_eq!(r["site"]["stage"], "discovered");
    assert_eq!(r["site"]["pages"], pages);
    assert_eq!(r["site"]["pages"], truth["pages"]);
    assert_eq!(r["settings"]["fields"].as_array().unwrap().len(), 4);
    assert_eq!(r["settings"]["fields"][1], "_raw_content");

    // The live graph does not pickle, exactly as an independent pickle.dumps says.
    assert_size_or_error(payload(&r, "site"), &truth["site"]);
    assert!(truth["site"].as_str().unwrap().contains("mappingproxy"));
    assert_eq!(payload(&r, "page")["failures_count"], pages);
    let culprits = payload(&r, "site")["failures"].as_array().unwrap();
    assert!(
        culprits.iter().any(|c| c["type"] == "builtins.mappingproxy"),
        "{culprits:?}"
    );
    // Root causes: per-page culprits fold into `site.pages[*]...` patterns whose counts add up
    // to the culprits they stand for.
    let causes = payload(&r, "site")["root_causes"].as_array().unwrap();
    assert!(
        causes
            .iter()
            .any(|c| c["pattern"] == "site.pages[*]._init_lock" && c["count"] == pages),
        "{causes:?}"
    );
    let counted: u64 = causes.iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, culprits.len() as u64);
    assert!(
        culprits
            .iter()
            .all(|c| !c["path"].as_str().unwrap().contains("__reduce_ex__"))
    );
    // After repairs the Site pickles: measured, labelled, classified.
    let fixed = &payload(&r, "site")["repaired"];
    assert_eq!(fixed["label"], "after repairs");
    assert!(fixed["error"].is_null(), "{fixed}");
    assert!(fixed["bytes"].as_u64().unwrap() > 0);
    assert!(fixed["repairs"]["builtins.mappingproxy"].as_u64().unwrap() > 0);
    assert!(fixed["repairs"]["_thread.RLock"].as_u64().unwrap() >= pages);
    assert!(fixed["roundtrip_ns"]["p50"].as_u64().unwrap() > 0);
    assert!(fixed["class"].is_string(), "{fixed}");
    assert!(r["answer"].as_str().unwrap().contains("after repairs"));
    // The suggestion beside Bengal's own PageView.
    let cmp = &r["suggestion"]["generator_comparison"];
    assert!(
        cmp["both"].as_array().unwrap().iter().any(|f| f == "source_path"),
        "{cmp}"
    );
    assert!(!cmp["only_generator"].as_array().unwrap().is_empty(), "{cmp}");

    // The default plain view, Bengal's own PageView and the suggestion pickle on every page.
    for name in ["page_subset", "page_generator"] {
        assert_page_sizes(&r, &truth, name);
        assert_eq!(payload(&r, name)["count"], pages, "{name}");
    }
    let suggested = payload(&r, "page_suggested");
    assert_eq!(suggested["picklable"], true);
    assert_eq!(suggested["count"], pages);
    assert!(
        r["site"]["generator_payload"]
            .as_str()
            .unwrap()
            .contains("page_view_from_live_page")
    );

    // Render cost measured with Bengal's pipeline, every strategy classified.
    assert_eq!(r["render"]["available"], true, "{}", r["render"]);
    assert_eq!(r["render_ns"]["samples"], pages.min(60));
    classified(&r);
    assert!(
        r["answer"]
            .as_str()
            .unwrap()
            .starts_with("No: the Site cannot be pickled at all")
    );
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("`page_generator`") && md.contains("page_view_from_live_page"));
    assert!(md.contains("**After repairs**") && md.contains("<details>"));
    assert!(md.contains("### The suggestion beside the generator's own payload"));
    assert!(report.join("charts/size-page_generator.svg").is_file());
    assert!(stdout(&o).contains("page_generator"));
    crate::stream::assert_streams(&r, &md, &stdout(&o));
}

pub fn rendered_stage(site: &Path, discovered_pages: u64) {
    let before = snapshot(site);
    let out = TempDir::new("modern-rendered");
    let o = analyze(site, out.path(), &["--stage", "rendered", "--budget", "10"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert_eq!(before, snapshot(site), "the site directory changed");
    assert_no_staging_left(out.path());
    let r = read_results(out.path());
    assert_eq!(r["site"]["stage"], "rendered");
    let build_root = r["site"]["build_root"].as_str().unwrap();
    assert!(!Path::new(build_root).exists(), "the build copy was not removed");
    assert!(!build_root.starts_with(site.to_str().unwrap()));
    assert!(
        r["site"]["stage_method"]
            .as_str()
            .unwrap()
            .contains("BuildOptions")
    );

    let count = rendered_page_count(site);
    assert_eq!(r["site"]["pages"], count, "Bengal's own page count after a build");
    assert!(count > discovered_pages);

    // After a build generated pages carry live pages in their metadata (`_paginator`); the
    // plain view turns them into source paths, so the default subset still pickles everywhere.
    for name in ["page_subset", "page_suggested", "page_generator"] {
        let p = payload(&r, name);
        assert_eq!(p["picklable"], true, "{name}: {}", p["error"]);
        assert_eq!(p["count"], count, "{name}");
    }
    assert_eq!(payload(&r, "site")["picklable"], false);
    assert_eq!(r["render"]["available"], true, "{}", r["render"]);
    assert!(r["render_ns"]["samples"].as_u64().unwrap() > 0);
    classified(&r);
}

/// Every shippable strategy gets a class from the measured render cost; the Site and the full
/// Page are not shippable at all.
fn classified(r: &serde_json::Value) {
    let verdicts = r["verdicts"].as_array().unwrap();
    let judged = ["subinterpreter", "process", "forkserver", "fork"];
    assert_eq!(
        verdicts.len(),
        r["payloads"].as_array().unwrap().len() * judged.len(),
        "one row per payload and transport that gives a worker its own interpreter"
    );
    for v in verdicts {
        match (v["payload"].as_str().unwrap(), v["transport"].as_str().unwrap()) {
            // Fork shares what cannot be pickled: the Site and the Page get a class too.
            (_, "fork") => {
                assert!(
                    ["practical", "marginal", "impractical"].contains(&v["class"].as_str().unwrap()),
                    "{v}"
                );
                assert!(v["transfer_share"].as_f64().unwrap() > 0.0, "{v}");
            }
            ("site" | "page", _) => {
                assert_eq!(v["class"], "impractical", "{v}");
                assert!(v["transfer_share"].is_null(), "{v}");
            }
            (_, "process" | "forkserver") => {
                assert!(
                    ["practical", "marginal", "impractical"].contains(&v["class"].as_str().unwrap()),
                    "{v}"
                );
                let share = v["transfer_share"].as_f64().unwrap();
                assert!(share > 0.0, "{v}");
            }
            _ => {}
        }
    }
}

#[test]
fn config_directory_site_at_both_stages() {
    let site = docs_yaml();
    if installed().modern_bengal {
        discovered_stage(&site, 15);
        rendered_stage(&site, 15);
    } else {
        // Bengal 0.1 cannot read config/_default/: one clear error, not a site on defaults.
        let tmp = TempDir::new("docs-yaml-old");
        let o = analyze(&site, &tmp.path().join("out"), &[]);
        assert_one_error_line(
            &o,
            "keeps its configuration in config/_default/, which the installed Bengal cannot read",
        );
    }
}

#[test]
fn bengal_yaml_site_discovered() {
    let site = notes_bengal_yaml();
    if installed().modern_bengal {
        discovered_stage(&site, 8);
    } else {
        // Bengal 0.1 reads bengal.yaml too.
        let before = snapshot(&site);
        let tmp = TempDir::new("notes-old");
        let out = tmp.path().join("out");
        let o = analyze(&site, &out, &["--budget", "10", "--no-transports"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let r = read_results(&out);
        assert_eq!(r["site"]["pages"], 8);
        let truth = independent_sizes(&site, 5, "source_path,content,metadata,output_path", None);
        assert_size_or_error(payload(&r, "site"), &truth["site"]);
        assert_page_sizes(&r, &truth, "page_subset");
        assert_eq!(before, snapshot(&site));
    }
}

#[test]
fn broken_yaml_configuration_is_refused() {
    let tmp = TempDir::new("broken-yaml");
    let site = tmp.path().join("site");
    std::fs::create_dir_all(site.join("content")).unwrap();
    std::fs::write(site.join("bengal.yaml"), "site: [unclosed\n").unwrap();
    let o = analyze(&site, &tmp.path().join("out"), &[]);
    assert_one_error_line(&o, "bengal.yaml is not valid YAML");
    assert!(!tmp.path().join("out").exists());
}
