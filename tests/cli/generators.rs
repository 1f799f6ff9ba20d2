//! Pelican, MkDocs and Sphinx recognised on their own (no --loader), at both stages, on the
//! project's samples, each with its generator's pinned environment (`.venv-pelican`,
//! `.venv-mkdocs`, `.venv-sphinx`: scripts/generator-venvs makes them, scripts/test runs it
//! first). A missing environment fails these tests: it is not a reason to skip them.
//!
//! Sizes are compared with tests/support/generator_sizes.py, which loads the site with the
//! generator's own API in the same scratch directory (pickles embed its paths). Both run with
//! PYTHONHASHSEED=0: a pickle's size depends on the order in which sets and dicts of strings
//! are walked (memo indices), which hash randomisation changes from one process to the next.
use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Generator {
    name: &'static str,
    sample: &'static str,
    /// Documents the adapter lists as pages.
    pages: u64,
    /// What pickling the root object says at each stage: None = it pickles, Some(error prefix).
    discovered_site: Option<&'static str>,
    rendered_site: Option<&'static str>,
    /// A type among the culprits when the root object does not pickle.
    culprit_type: &'static str,
}

const PELICAN: Generator = Generator {
    name: "pelican",
    sample: "samples/pelican-blog",
    pages: 10,
    discovered_site: None,
    rendered_site: Some("TypeError: cannot pickle 'weakref.ReferenceType' object"),
    culprit_type: "weakref.ReferenceType",
};

const MKDOCS: Generator = Generator {
    name: "mkdocs",
    sample: "samples/mkdocs-docs",
    pages: 8,
    discovered_site: Some("AttributeError: Can't get local object 'AutorefsPlugin.__init__"),
    rendered_site: Some("AttributeError: Can't get local object 'AutorefsPlugin.__init__"),
    culprit_type: "builtins.function",
};

const SPHINX: Generator = Generator {
    name: "sphinx",
    sample: "samples/sphinx-docs",
    pages: 6,
    discovered_site: Some("TypeError: cannot pickle 'module' object"),
    rendered_site: Some("TypeError: cannot pickle 'module' object"),
    culprit_type: "builtins.module",
};

/// The generator's environment; a missing one fails the test with the command that makes it.
fn venv_python(g: &Generator) -> PathBuf {
    let python = root().join(format!(".venv-{}/bin/python", g.name));
    assert!(
        python.is_file(),
        "{python:?} is missing: run scripts/generator-venvs (scripts/test does) before these tests"
    );
    python
}

fn installed_version(python: &Path, distribution: &str) -> String {
    let out = Command::new(python)
        .args([
            "-B",
            "-c",
            &format!("import importlib.metadata as m; print(m.version({distribution:?}))"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `picklecost analyze` with its own TMPDIR (inside the test's directory): a tool run removes the
/// scratch directories of finished runs it finds in its temporary directory, which is where
/// generator_sizes.py rebuilds one after the run.
fn run(site: &Path, python: &Path, out: &Path, tmp: &Path, extra: &[&str]) -> Output {
    std::fs::create_dir_all(tmp).unwrap();
    Command::new(bin())
        .args([
            "analyze",
            site.to_str().unwrap(),
            "--python",
            python.to_str().unwrap(),
        ])
        .args([
            "--out",
            out.to_str().unwrap(),
            "--budget",
            "5",
            "--transport-budget",
            "5",
        ])
        .args(extra)
        .env_remove("PYTHONUNBUFFERED")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("VIRTUAL_ENV")
        .env("PYTHONHASHSEED", "0")
        .env("TMPDIR", tmp)
        .output()
        .expect("running picklecost")
}

/// The scratch directory the run used: the rendered build's parent, else the one the
/// discovered stage's method names.
fn scratch(r: &serde_json::Value) -> String {
    if let Some(build_root) = r["site"]["build_root"].as_str() {
        return Path::new(build_root)
            .parent()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
    }
    let method = r["site"]["stage_method"].as_str().unwrap();
    let start = method
        .find("scratch directory `")
        .expect("stage_method names the scratch directory")
        + "scratch directory `".len();
    let len = method[start..].find('`').unwrap();
    method[start..start + len].to_string()
}

fn truth(g: &Generator, python: &Path, site: &Path, stage: &str, r: &serde_json::Value) -> serde_json::Value {
    let scratch = scratch(r);
    let copy = r["site"]["copy"]["path"].as_str().expect("site.copy.path");
    let out = Command::new(python)
        .arg("-B")
        .arg(root().join("tests/support/generator_sizes.py"))
        .args([g.name, site.to_str().unwrap(), stage, &scratch, copy])
        .env("PYTHONHASHSEED", "0")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    result_line(&out, "generator_sizes.py")
}

fn check(g: &Generator, stage: &str) {
    let python = venv_python(g);
    let version = installed_version(&python, g.name);
    let site = root().join(g.sample).canonicalize().unwrap();
    let before = snapshot(&site);
    let out = TempDir::new(&format!("{}-{stage}", g.name));
    let report = out.path().join("report");
    let o = run(
        &site,
        &python,
        &report,
        &out.path().join("tmp"),
        &["--stage", stage],
    );
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "",
        "stderr must stay empty on success (the generator's logging too)"
    );
    assert_eq!(before, snapshot(&site), "the site directory changed");
    assert_no_staging_left(&report);

    // Recognised without --loader: the first line names the generator and its version.
    let first = stdout(&o).lines().next().unwrap_or_default().to_string();
    let expected = format!("({} {version}, stage {stage}, {} pages", g.name, g.pages);
    assert!(first.contains(&expected), "{first:?} lacks {expected:?}");

    let r = read_results(&report);
    assert_eq!(r["site"]["generator"], g.name);
    assert_eq!(r["site"]["generator_version"], version.as_str());
    assert_eq!(r["site"]["stage"], stage);
    assert_eq!(r["site"]["pages"], g.pages);
    if stage == "rendered" {
        let build_root = r["site"]["build_root"].as_str().unwrap();
        assert!(!Path::new(build_root).exists(), "the build copy was not removed");
        assert!(!build_root.starts_with(site.to_str().unwrap()));
    }

    // Every payload measured, or its failure explained with culprit paths.
    for p in r["payloads"].as_array().unwrap() {
        if p["picklable"] == true {
            assert_eq!(p["count"], p["objects"], "{}", p["name"]);
        } else {
            let failures = p["failures"].as_array().unwrap();
            assert!(
                !failures.is_empty(),
                "{}: unpicklable without culprits",
                p["name"]
            );
            assert!(
                failures
                    .iter()
                    .all(|f| f["path"].as_str().is_some_and(|s| !s.is_empty()))
            );
        }
    }
    let expected_site = if stage == "discovered" {
        g.discovered_site
    } else {
        g.rendered_site
    };
    let site_payload = payload(&r, "site");
    match expected_site {
        None => assert_eq!(site_payload["picklable"], true, "{}", site_payload["error"]),
        Some(error) => {
            assert_eq!(site_payload["picklable"], false);
            assert!(
                site_payload["error"].as_str().unwrap().starts_with(error),
                "{}",
                site_payload["error"]
            );
            let culprits = site_payload["failures"].as_array().unwrap();
            assert!(
                culprits.iter().any(|c| c["type"] == g.culprit_type),
                "{culprits:?}"
            );
        }
    }

    // Every page is named by its source file relative to the site root (none is virtual here).
    for p in r["payloads"].as_array().unwrap() {
        for entry in p["sizes"].as_array().unwrap() {
            let key = entry["key"].as_str().unwrap();
            if !["site", "site_extra"].contains(&key) {
                assert!(site.join(key).is_file() && !key.starts_with('/'), "{key}");
                assert!(entry.get("virtual").is_none(), "{entry}");
            }
        }
    }

    // The default page payload pickles on every page.
    let subset = payload(&r, "page_subset");
    assert_eq!(subset["picklable"], true, "{}", subset["error"]);
    assert_eq!(subset["count"], g.pages);

    // Sizes equal an independent len(pickle.dumps(obj, 5)) where they pickle.
    let truth = truth(g, &python, &site, stage, &r);
    assert_eq!(truth["pages"], g.pages);
    assert_size_or_error(site_payload, &truth["site"]);
    assert_page_sizes(&r, &truth, "page_subset");
    if payload(&r, "page")["picklable"] == true {
        assert_page_sizes(&r, &truth, "page");
    }
    // A further whole-site object the adapter names (Sphinx's env) is a payload of its own.
    if let Some(extra) = truth["extra"].as_object().and_then(|e| e.iter().next()) {
        assert_eq!(r["site"]["extra_root"], extra.0.as_str());
        assert_size_or_error(payload(&r, "site_extra"), extra.1);
    }

    // Render cost with the generator's own renderer; every strategy classified.
    assert_eq!(r["render"]["available"], true, "{}", r["render"]);
    assert!(r["render_ns"]["samples"].as_u64().unwrap() > 0);
    assert!(
        r["render"]["errors"].as_array().unwrap().is_empty(),
        "{}",
        r["render"]
    );
    let verdicts = r["verdicts"].as_array().unwrap();
    assert!(!verdicts.is_empty());
    for v in verdicts {
        let class = v["class"].as_str().unwrap_or_default();
        assert!(
            ["practical", "marginal", "impractical", "blocked"].contains(&class),
            "{v}"
        );
        // Blocked only where an isolated sub-interpreter refused the renderer.
        if class == "blocked" {
            assert_eq!(v["transport"], "subinterpreter", "{v}");
            assert!(
                r["render_entry_points"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["isolated_ok"] == false)
            );
        }
        if v["transport"] == "process" && payload(&r, v["payload"].as_str().unwrap())["picklable"] == true {
            assert!(v["transfer_share"].as_f64().unwrap() > 0.0, "{v}");
        }
    }
}

#[test]
fn pelican_discovered() {
    check(&PELICAN, "discovered");
}

#[test]
fn pelican_rendered() {
    check(&PELICAN, "rendered");
}

#[test]
fn mkdocs_discovered() {
    check(&MKDOCS, "discovered");
}

#[test]
fn mkdocs_rendered() {
    check(&MKDOCS, "rendered");
}

#[test]
fn sphinx_discovered() {
    check(&SPHINX, "discovered");
}

#[test]
fn sphinx_rendered() {
    check(&SPHINX, "rendered");
}

/// Sphinx's environment is offered beside the unpicklable application, and pickles.
#[test]
fn sphinx_environment_pickles_beside_the_application() {
    let python = venv_python(&SPHINX);
    let site = root().join(SPHINX.sample).canonicalize().unwrap();
    let scratch = TempDir::new("sphinx-env");
    let work = scratch.path().join("w");
    let copy = work.join("site");
    let run = serde_json::json!({"site": {"build_root": work.join("build"), "copy": {"path": copy}}});
    let truth = truth(&SPHINX, &python, &site, "discovered", &run);
    assert!(
        truth["site"].as_str().is_some(),
        "the application does not pickle"
    );
    assert!(truth["extra"]["env"].as_u64().unwrap() > 10_000, "{truth}");
}
