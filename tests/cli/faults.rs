//! The fault matrix: whatever the generator or a `--loader` project does, every run ends cleanly.
//!
//! Each fault is played by a `--loader` project the test writes itself (`proj.py`, `load(root)`
//! and where it matters `render(page)`). Every run is checked the same way afterwards (`play`):
//! the site is byte-identical, the run's own TMPDIR and memory-backed scratch are gone, and no
//! process that inherited the run's marker is alive. What each test adds is the one clear line
//! the user gets: the error, or the failed page named in results.json and report.md.
use crate::util::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Pages with a source path and a content string; `render` fails the way the page's name says.
const RENDERING_PROJECT: &str = r#"
import pathlib, time

class Page:
    def __init__(self, path, content):
        self.source_path = path
        self.content = content

class Site:
    def __init__(self, root):
        folder = pathlib.Path(root) / "content"
        self.pages = [Page(str(p.relative_to(root)), p.read_text(errors="surrogateescape"))
                      for p in sorted(folder.rglob("*.md"))]

def load(root):
    return Site(root)

def render(page):
    name = pathlib.Path(page.source_path).name
    if name == "boom.md":
        raise RuntimeError("template missing for " + name)
    if name == "spin.md":
        while True:
            pass
    if name == "sleep.md":
        time.sleep(10**6)
    return "<article>%s</article>" % page.content
"#;

/// The quick settings where the transports are not the point of the fault.
const QUICK: &[&str] = &["--budget", "1", "--transport-budget", "1", "--workers", "1"];

/// A project directory under `tmp`: `proj.py` holding `loader`, and `content/NAME` files (names
/// as bytes: they need not be UTF-8).
fn project(tmp: &TempDir, loader: &str, pages: &[&[u8]]) -> PathBuf {
    let site = tmp.path().join("project");
    std::fs::create_dir_all(site.join("content")).unwrap();
    std::fs::write(site.join("proj.py"), loader).unwrap();
    for name in pages {
        let text = format!("# {}\n\nSome text.\n", String::from_utf8_lossy(name));
        let path = site.join("content").join(OsStr::from_bytes(name));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    site
}

/// `picklecost COMMAND SITE --loader proj:load EXTRA...` in isolation, then the checks every
/// fault shares: the site byte-identical, no scratch, no process left. (output, report dir)
fn play(tmp: &TempDir, site: &Path, command: &str, extra: &[&str]) -> (Output, PathBuf) {
    let before = snapshot(site);
    let out = tmp.path().join(format!("out-{command}"));
    let scratch = tmp.path().join(format!("scratch-{command}"));
    let python = python();
    let mut args = vec![
        command,
        site.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--loader",
        "proj:load",
        "-q",
    ];
    args.extend_from_slice(extra);
    let run = run_isolated(&args, &scratch);
    assert_eq!(before, snapshot(site), "the site changed");
    assert_no_scratch_left(&run, &scratch);
    assert_no_process_left(&run.marker);
    assert!(
        !stderr(&run.output).contains("Traceback") && !stderr(&run.output).contains("panicked"),
        "{}",
        stderr(&run.output)
    );
    (run.output, out)
}

/// A fault that ends the run: one `error:` line holding every one of `words`, exit 1, no report.
fn assert_failed_cleanly(o: &Output, out: &Path, words: &[&str]) {
    assert_one_error_line(o, words[0]);
    for word in &words[1..] {
        assert!(stderr(o).contains(word), "expected {word:?} in {}", stderr(o));
    }
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(!out.exists(), "a report was left behind for a failed run");
}

/// The render cost of a run that finished: (results.json's `render`, report.md).
fn render_results(o: &Output, out: &Path) -> (serde_json::Value, String) {
    assert!(o.status.success(), "{}", stderr(o));
    let results = read_results(out);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    (results["render"].clone(), md)
}

/// Each failed page is named (relative to the site root) with its error, in results.json and
/// report.md; the pages that rendered are the render cost's figures.
fn assert_failed_pages(render: &serde_json::Value, md: &str, failed: &[&str], rendered: u64) {
    assert_eq!(render["available"], true, "{render}");
    assert_eq!(render["pages"], rendered, "{render}");
    assert_eq!(render["failed"], failed.len() as u64, "{render}");
    let errors: Vec<&str> = render["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors, failed, "{render}");
    for line in failed {
        assert!(
            md.contains(&format!("- {line}\n")),
            "{line:?} not in report.md:\n{md}"
        );
    }
    let count = failed.len();
    let heading = if count == 1 {
        "1 page failed to render and is not in these figures".to_string()
    } else {
        format!("{count} pages failed to render and are not in these figures")
    };
    assert!(md.contains(&heading), "{md}");
}

#[test]
fn a_page_whose_render_raises_is_named_and_the_others_are_measured() {
    let tmp = TempDir::new("fault-raise");
    let site = project(&tmp, RENDERING_PROJECT, &[b"a.md", b"boom.md", b"c.md"]);
    let (o, out) = play(&tmp, &site, "analyze", QUICK);
    let (render, md) = render_results(&o, &out);
    assert_failed_pages(
        &render,
        &md,
        &["content/boom.md: RuntimeError: template missing for boom.md"],
        2,
    );
}

/// `while True: pass` (stopped between bytecodes) and `time.sleep(10**6)` (a blocking call
/// the signal interrupts) are both cut at --page-limit; the run goes on to the end.
#[test]
fn a_render_that_never_returns_is_stopped_at_the_page_limit() {
    let tmp = TempDir::new("fault-hang");
    let site = project(
        &tmp,
        RENDERING_PROJECT,
        &[b"a.md", b"sleep.md", b"spin.md", b"z.md"],
    );
    let mut extra = QUICK.to_vec();
    extra.extend(["--page-limit", "1"]);
    let (o, out) = play(&tmp, &site, "analyze", &extra);
    let (render, md) = render_results(&o, &out);
    assert_failed_pages(
        &render,
        &md,
        &[
            "content/sleep.md: TimeLimit: the render (--page-limit) took longer than 1 s",
            "content/spin.md: TimeLimit: the render (--page-limit) took longer than 1 s",
        ],
        2,
    );
}

#[test]
fn a_loader_that_raises_at_load_is_one_error_line() {
    let tmp = TempDir::new("fault-load-raise");
    let loader = "def load(root):\n    raise ValueError('no site.toml in %s' % root)\n";
    let site = project(&tmp, loader, &[b"a.md"]);
    // The loader ran on the private copy; the error names the site by its own path.
    let expected = format!(
        "--loader proj:load raised ValueError: no site.toml in {}",
        site.display()
    );
    for (command, extra) in [("analyze", QUICK), ("scale", &["--budget", "1"][..])] {
        let (o, out) = play(&tmp, &site, command, extra);
        assert_failed_cleanly(&o, &out, &[&expected]);
    }
}

/// A load stuck in Python code (the function's loop) or in a blocking call made while the
/// module is imported is stopped at --load-limit, for analyze and scale alike.
#[test]
fn a_loader_that_hangs_at_load_is_stopped_at_the_load_limit() {
    let loaders = [
        "def load(root):\n    while True:\n        pass\n",
        "import time\ntime.sleep(10**6)\ndef load(root):\n    return None\n",
    ];
    for (n, loader) in loaders.iter().enumerate() {
        let tmp = TempDir::new(&format!("fault-load-hang-{n}"));
        let site = project(&tmp, loader, &[b"a.md"]);
        for (command, extra) in [("analyze", QUICK), ("scale", &["--budget", "1"][..])] {
            let mut extra = extra.to_vec();
            extra.extend(["--load-limit", "1"]);
            let (o, out) = play(&tmp, &site, command, &extra);
            assert_failed_cleanly(
                &o,
                &out,
                &[
                    "--loader proj:load did not finish loading",
                    "within --load-limit 1 s and was stopped",
                    "raise the limit with --load-limit SECONDS",
                ],
            );
        }
    }
}

/// Nothing to measure is an error a user can act on, the same for analyze and scale (an empty
/// report of zero pages would read like a measurement).
#[test]
fn a_site_without_pages_is_one_error_line() {
    let tmp = TempDir::new("fault-empty");
    let loader = "class Site:\n    pages = []\n\ndef load(root):\n    return Site()\n";
    let site = project(&tmp, loader, &[]);
    for (command, extra) in [("analyze", QUICK), ("scale", &["--budget", "1"][..])] {
        let (o, out) = play(&tmp, &site, command, extra);
        assert_failed_cleanly(
            &o,
            &out,
            &[
                "--loader proj:load found no pages in",
                "there is nothing to measure",
                "returns its pages",
            ],
        );
    }
}

/// A 50 MB page finishes, and its sizes are the real ones. The memory it costs is checked in
/// scripts/bench (`fault-50mb`), not here.
#[test]
fn a_page_of_50_mb_is_measured_at_its_real_size() {
    let tmp = TempDir::new("fault-50mb");
    let loader = "class Page:\n\
                  \x20   def __init__(self, path, content):\n\
                  \x20       self.source_path = path\n\
                  \x20       self.content = content\n\
                  class Site:\n\
                  \x20   def __init__(self):\n\
                  \x20       self.pages = [Page('content/big.md', 'x' * (50 << 20)),\n\
                  \x20                     Page('content/small.md', 'small page')]\n\
                  def load(root):\n\
                  \x20   return Site()\n\
                  def render(page):\n\
                  \x20   return '<article>%d characters</article>' % len(page.content)\n";
    let site = project(&tmp, loader, &[]);
    let (o, out) = play(&tmp, &site, "analyze", QUICK);
    assert!(o.status.success(), "{}", stderr(&o));
    let results = read_results(&out);
    let fields = "source_path,content";
    let truth = independent_sizes(&site, 5, fields, Some("proj:load"));
    assert!(truth["page"][0].as_u64().unwrap() > 50 << 20, "{truth}");
    // A budget of one second sizes the pages it can (a stratified sample): each one sized is
    // its page's real size, and the big page is one of them.
    for name in ["page", "page_subset"] {
        let sizes = payload(&results, name)["sizes"].as_array().unwrap();
        assert!(
            sizes.iter().any(|s| s["key"] == "content/big.md"),
            "{name}: {sizes:?}"
        );
        for size in sizes {
            let index = match size["key"].as_str().unwrap() {
                "content/big.md" => 0,
                "content/small.md" => 1,
                other => panic!("{name}: unknown page {other}"),
            };
            assert_eq!(size["bytes"], truth[name][index], "{name}: {size}");
        }
    }
    assert_eq!(payload(&results, "site")["bytes"]["total"], truth["site"]);
    assert_eq!(results["render"]["pages"], 2, "{}", results["render"]);
}

/// File and folder names that are not UTF-8 are copied, fingerprinted and loaded like any
/// other; their pages are named with each such byte written as `\xNN`.
#[test]
fn file_names_that_are_not_utf8_are_copied_and_named() {
    let tmp = TempDir::new("fault-names");
    let pages: &[&[u8]] = &[b"a.md", b"caf\xe9.md", b"r\xe9sum\xe9/b.md"];
    let site = project(&tmp, RENDERING_PROJECT, pages);
    let (o, out) = play(&tmp, &site, "analyze", QUICK);
    assert!(o.status.success(), "{}", stderr(&o));
    let results = read_results(&out);
    assert_eq!(results["site"]["pages"], 3);
    assert_eq!(results["site"]["copy"]["files"], 4, "proj.py and three pages");
    let mut names: Vec<&str> = payload(&results, "page")["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "content/a.md",
            r"content/caf\xe9.md",
            r"content/r\xe9sum\xe9/b.md"
        ]
    );
    assert_eq!(results["render"]["pages"], 3, "{}", results["render"]);
    assert_eq!(results["render"]["failed"], 0, "{}", results["render"]);
    let truth = independent_sizes(&site, 5, "source_path,content", Some("proj:load"));
    assert_page_sizes(&results, &truth, "page");
}

/// `content/loop -> .` is copied as a link, fingerprinted as one entry and not followed by
/// the loader's walk: the run finishes with the site's real pages.
#[test]
fn a_symlink_loop_in_the_content_directory_is_not_followed() {
    let tmp = TempDir::new("fault-loop");
    let site = project(&tmp, RENDERING_PROJECT, &[b"a.md", b"b.md"]);
    std::os::unix::fs::symlink(".", site.join("content/loop")).unwrap();
    std::os::unix::fs::symlink("..", site.join("content/up")).unwrap();
    let (o, out) = play(&tmp, &site, "analyze", QUICK);
    assert!(o.status.success(), "{}", stderr(&o));
    let results = read_results(&out);
    assert_eq!(results["site"]["pages"], 2);
    assert_eq!(results["site"]["copy"]["files"], 3, "proj.py and two pages");
    assert_eq!(results["render"]["pages"], 2, "{}", results["render"]);
}

/// The process check can fail: it finds a process that carries the marker, and only while it
/// lives.
#[test]
fn the_process_check_finds_a_marked_process_while_it_lives() {
    let marker = format!("faults-check-{}", std::process::id());
    let mut child = std::process::Command::new("sleep")
        .arg("600")
        .env("PICKLECOST_TEST_RUN", &marker)
        .spawn()
        .expect("running sleep");
    // Right after exec its environment can read empty for a moment: look until it shows.
    let mut found = Vec::new();
    for _ in 0..50 {
        found = processes_marked(&marker);
        if !found.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        found.iter().map(|(pid, _)| *pid).collect::<Vec<_>>(),
        [child.id()],
        "{found:?}"
    );
    assert_no_process_left(&marker);
}

/// Bengal's own render-cost probe keeps the page limit too: pages that take longer are
/// stopped and named with the limit, and a probe where none rendered says so.
#[test]
fn bengal_pages_past_the_page_limit_are_stopped_and_named() {
    let tmp = TempDir::new("faults-bengal-page-limit");
    let site = tiny_blog();
    let out = tmp.path().join("out");
    let before = snapshot(&site);
    let o = analyze(
        &site,
        &out,
        &[
            "--budget",
            "1",
            "--transport-budget",
            "1",
            "--page-limit",
            "0.0001",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let render = &read_results(&out)["render"];
    let failed = render["failed"].as_u64().unwrap();
    assert!(failed > 0, "{render}");
    for error in render["errors"].as_array().unwrap() {
        let error = error.as_str().unwrap();
        assert!(error.starts_with("content/"), "{error}");
        assert!(
            error.contains("the render (--page-limit) took longer than 0.0001 s"),
            "{error}"
        );
    }
    if render["pages"] == 0 {
        assert_eq!(render["available"], false, "{render}");
        assert!(
            render["reason"]
                .as_str()
                .unwrap()
                .starts_with("no page rendered: content/"),
            "{render}"
        );
    }
    assert_eq!(before, snapshot(&site), "the site changed");
}
