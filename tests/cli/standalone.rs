//! The standalone binary's own front door (`cargo build`, embedding the libpython of
//! PYO3_PYTHON): it finds the site's environment itself (`--python`, `$VIRTUAL_ENV`, a `.venv`
//! beside the site) and refuses one of another Python version, where the wheel simply runs in the
//! interpreter that launched it. These tests run the standalone binary whichever tool the rest of
//! the suite runs (`PICKLECOST_TEST_BIN`), and check that both front doors measure alike.
use crate::util::*;
use std::path::Path;
use std::process::Output;

/// The standalone binary, whatever `PICKLECOST_TEST_BIN` names.
fn standalone_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_picklecost"))
}

/// The Python the standalone binary was built against (scripts/setup's `.venv`).
fn standalone_python() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("PICKLECOST_PY_EXECUTABLE"))
}

fn standalone_analyze(site: &Path, out: &Path, extra: &[&str]) -> Output {
    as_a_user(&standalone_bin())
        .args(["analyze", site.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--budget", "2", "--no-transports"])
        .args(extra)
        .output()
        .expect("running the standalone picklecost")
}

#[test]
fn no_python_environment_found() {
    let tmp = TempDir::new("err-noenv");
    let out = tmp.path().join("out");
    // The site's parents (the temp dir, /) hold no .venv, VIRTUAL_ENV is removed, no --python.
    let o = standalone_analyze(&tiny_blog_copy(&tmp), &out, &[]);
    assert_one_error_line(&o, "no Python environment found");
    let o = standalone_analyze(&tiny_blog(), &out, &["--python", "/nonexistent/bin/python"]);
    assert_one_error_line(&o, "does not exist");
}

#[test]
fn python_version_mismatch_names_both_versions_and_the_rebuild() {
    let tmp = TempDir::new("err-version");
    let venv = tmp.path().join("venv311");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\nversion = 3.11.7\n").unwrap();
    std::fs::write(venv.join("bin/python"), "").unwrap();
    let out = tmp.path().join("out");
    let o = standalone_analyze(
        &tiny_blog(),
        &out,
        &["--python", venv.join("bin/python").to_str().unwrap()],
    );
    assert_one_error_line(
        &o,
        &format!(
            "is Python 3.11, but this picklecost embeds Python {}",
            env!("PICKLECOST_PY_VERSION")
        ),
    );
    assert!(stderr(&o).contains("PYO3_PYTHON="));
    // uv writes version_info instead of version
    std::fs::write(
        venv.join("pyvenv.cfg"),
        "home = /usr/bin\nversion_info = 3.12.4.final.0\n",
    )
    .unwrap();
    let o = standalone_analyze(
        &tiny_blog(),
        &out,
        &["--python", venv.join("bin/python").to_str().unwrap()],
    );
    assert_one_error_line(&o, "is Python 3.12");
    assert!(!out.exists());
}

#[test]
fn environment_found_from_virtual_env_or_a_venv_beside_the_site() {
    let venv = standalone_python()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let tmp = TempDir::new("envfind");
    let out = tmp.path().join("out");
    let run = |site: &std::path::Path, virtual_env: Option<&std::path::Path>| {
        let mut cmd = as_a_user(&standalone_bin());
        cmd.args(["analyze", site.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .args(["--no-transports", "--no-diagnose", "--budget", "30"]);
        if let Some(v) = virtual_env {
            cmd.env("VIRTUAL_ENV", v);
        }
        cmd.output().unwrap()
    };
    // $VIRTUAL_ENV, as an activated venv sets it.
    let o = run(&tiny_blog(), Some(&venv));
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    assert_eq!(r["python"]["environment_found_by"], "$VIRTUAL_ENV");
    assert_eq!(r["python"]["prefix"].as_str().unwrap(), venv.to_str().unwrap());
    // A .venv in a parent of the site directory.
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::os::unix::fs::symlink(&venv, project.join(".venv")).unwrap();
    let site = project.join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("mini.py"), "class S:\n    def __init__(self):\n        self.pages = [{'a': 1}, {'a': 2}]\n\ndef load(root):\n    return S()\n").unwrap();
    let o = std::process::Command::new(standalone_bin())
        .args([
            "analyze",
            site.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--loader",
            "mini:load",
        ])
        .args(["--no-transports", "--no-diagnose", "--budget", "30"])
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    assert_eq!(r["python"]["environment_found_by"], ".venv");
    assert_eq!(r["site"]["pages"], 2);
    assert_eq!(payload(&r, "page")["count"], 2);
    // Pages that are plain dicts: their keys are the fields.
    assert_eq!(r["settings"]["fields"], serde_json::json!(["a"]));
}

/// Both front doors run one pipeline: on the tiny blog, the wheel the suite runs through and the
/// standalone binary report the same pickle sizes for every payload and the same pages.
#[test]
fn the_wheel_and_the_standalone_binary_measure_the_same_sizes() {
    if !through_wheel() {
        skip(
            "the suite runs the standalone binary (scripts/test sets PICKLECOST_TEST_BIN to the wheel's picklecost)",
        );
        return;
    }
    let tmp = TempDir::new("front-doors");
    let run = |tool: &Path, python: &Path, out: &Path| {
        let o = as_a_user(tool)
            .args([
                "analyze",
                tiny_blog().to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .args(["--python", python.to_str().unwrap()])
            .args(["--no-transports", "--no-diagnose", "--budget", "5", "-q"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", tool.display(), stderr(&o));
        read_results(out)
    };
    let wheel = run(&bin(), &python(), &tmp.path().join("wheel"));
    let standalone = run(
        &standalone_bin(),
        &standalone_python(),
        &tmp.path().join("standalone"),
    );
    assert_eq!(wheel["python"]["environment_found_by"], "the running interpreter");
    assert_eq!(wheel["site"]["pages"], standalone["site"]["pages"]);
    let sizes = |r: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        r["payloads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap().to_string(), p["bytes"].clone()))
            .collect()
    };
    let (w, s) = (sizes(&wheel), sizes(&standalone));
    assert!(w.len() >= 3, "{w:?}");
    assert_eq!(w, s);
}
