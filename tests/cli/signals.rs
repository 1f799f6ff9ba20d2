//! SIGINT and SIGTERM, sent to the tool's process alone, at every phase of `analyze` and
//! `scale`: the run stops with exit status 130 / 143 and one `error: interrupted by SIG…` line,
//! writes no report, leaves no scratch directory (`$TMPDIR`, /dev/shm) and no process behind,
//! and the site is byte-identical.
//!
//! Each phase is reached for certain, not after a guessed delay: the tests' own `--loader`
//! project (tests/support/sighooks.py) blocks in the phase `SIGTEST_PHASE` names and creates the file
//! `SIGTEST_READY` (outside the site) when it got there; tests/support/interrupt.py waits for
//! that file, then signals. The time from the signal to the exit is printed, not asserted
//! (scripts/bench's `signals` case checks it against the 2 s target).
use crate::util::{
    TempDir, assert_no_process_left, bin, has_subinterpreters, python, root, skip, snapshot, tiny_blog,
};
use std::path::{Path, PathBuf};

/// The `--loader` project (tests/support/sighooks.py): `load` returns a site of four pages;
/// whichever hook runs in the phase named by SIGTEST_PHASE announces it and blocks.
const HOOKS: &str = include_str!("../support/sighooks.py");

/// How the signal is timed: after a fixed delay, once the hooks announced the phase, or once
/// the run's scratch directory holds a path matching a glob pattern.
enum When<'a> {
    After(&'a str),
    InPhase(&'a str),
    ScratchHas(&'a str),
}

/// Run `picklecost COMMAND SITE EXTRA...`, send `signal` (`INT`, `TERM`) when `when` says, and
/// check the ending: exit 128 + the signal, one `error: interrupted by SIG…` line, no report
/// directory, no scratch directory in `$TMPDIR` or /dev/shm, no process of the run left, the
/// site unchanged.
fn interrupt(signal: &str, command: &str, site: &Path, when: When, extra: &[&str]) {
    let tmp = TempDir::new("signals");
    let out = tmp.path().join("out");
    let scratch = tmp.path().join("tmp");
    let ready = tmp.path().join("ready");
    std::fs::create_dir(&scratch).unwrap();
    let marker = format!("{}-{}", std::process::id(), tmp.path().display());
    let before = snapshot(site);
    let mut cmd = std::process::Command::new(python());
    cmd.arg("-B").arg(root().join("tests/support/interrupt.py"));
    match when {
        When::After(delay) => {
            cmd.arg(delay);
        }
        When::InPhase(phase) => {
            cmd.arg("--ready").arg(&ready);
            cmd.env("SIGTEST_PHASE", phase).env("SIGTEST_READY", &ready);
        }
        When::ScratchHas(pattern) => {
            cmd.arg("--ready").arg(scratch.join(pattern));
        }
    }
    let result = cmd
        .arg(bin())
        .args([command, site.to_str().unwrap(), "--python"])
        .arg(python())
        .arg("--out")
        .arg(&out)
        .args(extra)
        .env_remove("PYTHONUNBUFFERED")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("PICKLECOST_TEST_SIGNAL", signal)
        .env("PICKLECOST_TEST_RUN", &marker)
        .env("TMPDIR", &scratch)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&result.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "no interrupt.py result: {text} {}",
                String::from_utf8_lossy(&result.stderr)
            )
        });
    let r: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(r["stuck"], false, "the run did not stop: {r}");
    assert_eq!(
        r["reached"], true,
        "the run never reached the phase to interrupt: {r}"
    );
    if let When::InPhase(phase) = when {
        let announced = std::fs::read_to_string(&ready).unwrap();
        assert!(announced.starts_with(phase), "{announced}");
    }
    // 128 + the signal, as a shell reports a command a signal ended.
    let (code, name) = match signal {
        "TERM" => (143, "SIGTERM"),
        _ => (130, "SIGINT"),
    };
    assert_eq!(r["rc"], code, "{r}");
    let err = r["stderr"].as_str().unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("error: interrupted by {name}")), "{err}");
    assert!(!out.exists(), "a report directory was left behind");
    assert_no_process_left(&marker);
    assert_eq!(entries(&scratch), Vec::<PathBuf>::new(), "scratch left behind");
    let pid = r["pid"].as_u64().unwrap();
    let mine = format!("pc-{pid}-");
    let in_memory: Vec<PathBuf> = entries(Path::new("/dev/shm"))
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&mine))
        .collect();
    assert_eq!(
        in_memory,
        Vec::<PathBuf>::new(),
        "memory-backed scratch left behind"
    );
    assert_eq!(before, snapshot(site), "the site changed");
    let seconds = r["seconds_to_exit"].as_f64().unwrap();
    eprintln!("{command} {name}: exited {seconds:.2} s after the signal");
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The hooks project in a directory of its own: (its TempDir, the site directory).
fn hooks_project() -> (TempDir, PathBuf) {
    let tmp = TempDir::new("signals-project");
    let site = tmp.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("sighooks.py"), HOOKS).unwrap();
    (tmp, site)
}

/// `analyze` of the hooks project, signalled in `phase`.
fn analyze_in(phase: &str, signal: &str, extra: &[&str]) {
    let (_tmp, site) = hooks_project();
    let mut args = vec!["--loader", "sighooks:load", "--quiet", "--workers", "1"];
    args.extend_from_slice(extra);
    interrupt(signal, "analyze", &site, When::InPhase(phase), &args)
}

/// `scale` of the hooks project with one `strategy`, signalled while its worker renders.
fn scale_in(strategy: &str, signal: &str) {
    let (_tmp, site) = hooks_project();
    let args = [
        "--loader",
        "sighooks:load",
        "--quiet",
        "--strategies",
        strategy,
        "--workers",
        "2",
        "--pages",
        "4",
        "--budget",
        "10",
    ];
    interrupt(signal, "scale", &site, When::InPhase("scale"), &args)
}

#[test]
fn sigint_while_loading_stops_the_tool() {
    analyze_in("load", "INT", &[]);
}

#[test]
fn sigterm_while_loading_stops_the_tool() {
    analyze_in("load", "TERM", &[]);
}

#[test]
fn sigterm_while_loading_for_scale_stops_the_tool() {
    let (_tmp, site) = hooks_project();
    interrupt(
        "TERM",
        "scale",
        &site,
        When::InPhase("load"),
        &["--loader", "sighooks:load", "--quiet"],
    );
}

#[test]
fn sigterm_while_measuring_stops_the_tool() {
    analyze_in("measuring", "TERM", &["--no-diagnose", "--no-transports"]);
}

#[test]
fn sigint_while_diagnosing_stops_the_tool() {
    analyze_in("diagnose", "INT", &["--no-transports"]);
}

#[test]
fn sigint_during_the_transports_stops_the_tool_and_its_workers() {
    analyze_in("transports", "INT", &["--no-diagnose"]);
}

#[test]
fn sigterm_during_the_transports_stops_the_tool_and_its_workers() {
    analyze_in("transports", "TERM", &["--no-diagnose"]);
}

/// The main thread is inside a sub-interpreter, which never runs the signal handler: the tool
/// still stops within its grace period, and cleans up.
#[test]
fn sigint_while_the_main_thread_is_in_a_subinterpreter_stops_the_tool() {
    if !has_subinterpreters() {
        return skip("this Python has no sub-interpreter modules (needs 3.13+)");
    }
    analyze_in("imports", "INT", &["--no-diagnose"]);
}

/// A forkserver worker blocks while it unpickles a page: the tool, the worker and the forkserver
/// that forked it all end.
#[test]
fn sigterm_during_the_forkserver_transport_stops_the_tool_its_workers_and_the_server() {
    analyze_in("forkserver", "TERM", &["--no-diagnose"]);
}

#[test]
fn sigint_during_the_forkserver_transport_stops_the_tool_its_workers_and_the_server() {
    analyze_in("forkserver", "INT", &["--no-diagnose"]);
}

#[test]
fn sigterm_during_the_render_cost_stops_the_tool_and_its_pools() {
    analyze_in("render", "TERM", &["--no-diagnose"]);
}

/// `--growth` copies made by the generator adapter (a `--loader` module may offer its own): the
/// sample blog, signalled as soon as the first copy appears in the run's scratch.
#[test]
fn sigint_while_growth_copies_the_site_stops_the_tool_and_removes_the_copy() {
    interrupt(
        "INT",
        "analyze",
        &tiny_blog(),
        When::ScratchHas("picklecost-*/variant"),
        &[
            "--quiet",
            "--no-diagnose",
            "--no-transports",
            "--growth",
            "--budget",
            "30",
        ],
    );
}

#[test]
fn sigint_while_scale_threads_render_stops_the_tool() {
    scale_in("thread", "INT");
}

#[test]
fn sigterm_while_scale_subinterpreters_render_stops_the_tool() {
    if !has_subinterpreters() {
        return skip("this Python has no sub-interpreter modules (needs 3.13+)");
    }
    scale_in("subinterpreter", "TERM");
}

#[test]
fn sigint_while_scale_processes_render_stops_the_tool_and_its_workers() {
    scale_in("process", "INT");
}

#[test]
fn sigterm_while_scale_processes_render_stops_the_tool_and_its_workers() {
    scale_in("process", "TERM");
}

#[test]
fn sigterm_while_scale_forkserver_workers_render_stops_the_tool_and_the_server() {
    scale_in("forkserver", "TERM");
}

#[test]
fn sigterm_while_scale_forks_render_stops_the_tool_and_its_children() {
    scale_in("fork", "TERM");
}

// --- delays rather than announcements: a real generator's build, a big payload -----------------

/// Ctrl-C (SIGINT, as a terminal sends it) `delay` seconds into a rendered-stage run of `site`:
/// one `error: interrupted ...` line, exit status 130, no report directory, the site untouched.
pub fn ctrl_c_stops_a_rendered_run(site: &Path, delay: &str) {
    interrupt(
        "INT",
        "analyze",
        site,
        When::After(delay),
        &["--stage", "rendered"],
    );
}

#[test]
fn ctrl_c_stops_the_tool_and_leaves_nothing_behind() {
    // The sample's rendered run takes seconds: the interrupt lands while Bengal builds the copy
    // or while the payloads are measured.
    ctrl_c_stops_a_rendered_run(&tiny_blog(), "1.0");
}

#[test]
fn sigterm_while_a_rendered_copy_is_built_stops_the_tool() {
    interrupt(
        "TERM",
        "analyze",
        &tiny_blog(),
        When::After("1.0"),
        &["--stage", "rendered"],
    );
}

#[test]
fn ctrl_c_during_big_transports_stops_the_tool() {
    during_big_transports("INT");
}

#[test]
fn sigterm_during_big_transports_stops_the_tool_and_removes_its_scratch() {
    during_big_transports("TERM");
}

/// 16 pages of ~3 MB each: the measuring phase fits its one-second budget, then the transports
/// (thread, sub-interpreter and process pools, fork) take many seconds to send them; the signal
/// lands there, with workers of every kind running.
fn during_big_transports(signal: &str) {
    let tmp = TempDir::new("ctrlc-transports");
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("bigpages.py"),
        "class Page:\n    def __init__(self, n):\n        self.source_path = 'p%d' % n\n        self.content = ('%d ' % n) * 1_000_000\n\nclass Site:\n    def __init__(self):\n        self.pages = [Page(n) for n in range(16)]\n\ndef load(root):\n    return Site()\n",
    )
    .unwrap();
    interrupt(
        signal,
        "analyze",
        &project,
        When::After("4"),
        &[
            "--loader",
            "bigpages:load",
            "--budget",
            "1",
            "--no-diagnose",
            "--transport-budget",
            "60",
        ],
    );
}
