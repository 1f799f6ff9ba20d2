//! Helpers every test module uses: run the built binary, read what it wrote, compute the truth
//! independently with the venv's Python.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tool under test: the standalone binary, or `$PICKLECOST_TEST_BIN` (scripts/test sets it to
/// the `picklecost` command of a venv where the wheel is installed, to run suites through it).
pub fn bin() -> PathBuf {
    std::env::var_os("PICKLECOST_TEST_BIN")
        .filter(|b| !b.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_picklecost")))
}

/// The suite runs through an installed wheel's `picklecost` (scripts/test sets
/// `PICKLECOST_TEST_BIN`), not the standalone binary.
pub fn through_wheel() -> bool {
    std::env::var_os("PICKLECOST_TEST_BIN").is_some_and(|b| !b.is_empty())
}

/// The venv scripts/setup made (scripts/test exports it).
pub fn python() -> PathBuf {
    std::env::var_os("PICKLECOST_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

/// The test environment's Python and Bengal, read from that Python (once).
pub struct Installed {
    /// "3.13", "3.14"
    pub python: String,
    pub bengal: String,
    /// Bengal ships `bengal.snapshots` (0.5): its graphs do not pickle, it has its own PageView.
    pub modern_bengal: bool,
}

pub fn installed() -> &'static Installed {
    static INSTALLED: std::sync::OnceLock<Installed> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let out = Command::new(python())
            .args([
                "-B",
                "-c",
                "import sys, importlib.util, importlib.metadata as m\n\
                 print('%d.%d' % sys.version_info[:2])\n\
                 print(m.version('bengal'))\n\
                 print(importlib.util.find_spec('bengal.snapshots') is not None)",
            ])
            .output()
            .expect("running the test Python");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text} {}", String::from_utf8_lossy(&out.stderr));
        Installed {
            python: lines[0].to_string(),
            bengal: lines[1].to_string(),
            modern_bengal: lines[2] == "True",
        }
    })
}

/// The test Python's (major, minor), compared as numbers: 3.9 < 3.13.
pub fn python_version() -> (u32, u32) {
    let text = &installed().python;
    let number = |part: Option<&str>| -> u32 {
        part.and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the test Python's version {text:?} is not major.minor"))
    };
    let mut parts = text.split('.');
    (number(parts.next()), number(parts.next()))
}

/// Per-interpreter queues and `_interpreters` (sub-interpreter transports) need Python 3.13+.
pub fn has_subinterpreters() -> bool {
    python_version() >= (3, 13)
}

/// A test that cannot run in this environment says so, and why: on stderr (`skipped: REASON`)
/// and as a line of the test summary's log (PICKLECOST_SKIP_LOG, which scripts/test sets; the
/// suite is PICKLECOST_TEST_SUITE), so scripts/test counts it as skipped, not passed. The test
/// returns right after.
pub fn skip(reason: &str) {
    use std::io::Write;
    eprintln!("skipped: {reason}");
    let Some(log) = std::env::var_os("PICKLECOST_SKIP_LOG") else {
        return;
    };
    let suite = std::env::var("PICKLECOST_TEST_SUITE").unwrap_or_else(|_| "cargo cli".into());
    let line = format!(
        "skipped\t{suite}\t1\t{}\n",
        reason.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    // One write of the whole line to a file opened for appending: tests on other threads
    // cannot interleave with it.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .unwrap_or_else(|e| panic!("recording a skip in {log:?}: {e}"));
}

pub fn docs_yaml() -> PathBuf {
    root().join("samples/docs-yaml").canonicalize().unwrap()
}

pub fn notes_bengal_yaml() -> PathBuf {
    root().join("samples/notes-bengal-yaml").canonicalize().unwrap()
}

/// The real Bengal showcase beside the project (`../shared/sites/`): only the ignored `shared::`
/// tests use it, and scripts/test runs them only when it is there. `PICKLECOST_SHARED_SITES`
/// names the sites directory instead (a worktree whose parent has no `shared/`).
pub fn showcase() -> PathBuf {
    let sites = std::env::var_os("PICKLECOST_SHARED_SITES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/sites"));
    let path = sites.join("bengal-showcase");
    assert!(
        path.join("bengal.toml").is_file(),
        "the shared showcase site is missing at {path:?}: the shared:: tests need ../shared/sites"
    );
    path.canonicalize().unwrap()
}

pub fn tiny_blog() -> PathBuf {
    root().join("samples/tiny-blog").canonicalize().unwrap()
}

/// A copy of the tiny blog in `tmp/blog`: for runs whose site must have no `.venv` above it, or
/// that write next to it.
pub fn tiny_blog_copy(tmp: &TempDir) -> PathBuf {
    let site = tmp.path().join("blog");
    copy_dir(&tiny_blog(), &site);
    site
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!("picklecost-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path.canonicalize().unwrap())
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run `picklecost` as a user's shell would: without the machine's Python output variables.
pub fn picklecost(args: &[&str]) -> Output {
    as_a_user(&bin()).args(args).output().expect("running picklecost")
}

/// `program` as a user's shell starts it: no Python output variables, no activated venv.
pub fn as_a_user(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("PYTHONUNBUFFERED")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("VIRTUAL_ENV");
    cmd
}

/// `picklecost analyze SITE --python <the test venv> --out OUT EXTRA...`
pub fn analyze(site: &Path, out: &Path, extra: &[&str]) -> Output {
    let python = python();
    let mut args = vec![
        "analyze",
        site.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    picklecost(&args)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exactly one line on stderr, starting with `error:`, and a non-zero exit.
pub fn assert_one_error_line(o: &Output, must_contain: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        lines[0].contains(must_contain),
        "expected {must_contain:?} in {err}"
    );
    assert!(!err.contains("Traceback") && !err.contains("panicked"), "{err}");
}

/// The report was moved into place: no staging or probe entry (`.picklecost-staging-<pid>`,
/// `.picklecost-probe-<pid>`, whatever the tool's process id was) is left in the report directory.
pub fn assert_no_staging_left(out: &Path) {
    let left: Vec<String> = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("reading {out:?}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".picklecost-staging") || name.starts_with(".picklecost-probe"))
        .collect();
    assert!(left.is_empty(), "left behind in {out:?}: {left:?}");
}

pub fn read_results(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("results.json parses")
}

pub fn payload<'a>(results: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    results["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap()
}

/// Sizes computed by tests/support/independent_sizes.py, i.e. len(pickle.dumps(obj, protocol)).
pub fn independent_sizes(site: &Path, protocol: u8, fields: &str, loader: Option<&str>) -> serde_json::Value {
    let mut cmd = Command::new(python());
    cmd.arg("-B")
        .arg(root().join("tests/support/independent_sizes.py"))
        .arg(site)
        .arg(protocol.to_string())
        .arg(fields)
        .current_dir(std::env::temp_dir());
    if let Some(loader) = loader {
        cmd.arg(loader);
    }
    let out = cmd.output().expect("running the independent size script");
    result_line(&out, "independent_sizes.py")
}

/// The JSON a tests/support script printed on its `RESULT ` line.
pub fn result_line(out: &Output, script: &str) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "no result from {script}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    serde_json::from_str(line).unwrap()
}

/// Every file, directory and symbolic link under `dir` with its size, mode and content digest
/// (a link's digest is its target's path: links are not followed, so a link loop is one entry).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (bool, u64, u32, u64)> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            let rel = entry.path().strip_prefix(dir).unwrap().to_path_buf();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            let digest = if meta.is_file() {
                std::fs::read(entry.path()).unwrap().hash(&mut h);
                h.finish()
            } else if meta.is_symlink() {
                std::fs::read_link(entry.path()).unwrap().hash(&mut h);
                h.finish()
            } else {
                stack.push(entry.path());
                0
            };
            out.insert(
                rel,
                (meta.is_dir(), meta.len(), meta.permissions().mode(), digest),
            );
        }
    }
    out
}

/// Parse an .hgrm file: (value µs, percentile, total count) rows and the footer's total count.
pub fn parse_hgrm(path: &Path) -> (Vec<(f64, f64, u64)>, u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]);
    let mut rows = Vec::new();
    let mut total = None;
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#[Max") {
            let count = rest.split("Total count").nth(1).unwrap();
            total = Some(
                count
                    .trim_matches(|c: char| c == '=' || c == ']' || c.is_whitespace())
                    .parse()
                    .unwrap(),
            );
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() == 3 || cols.len() == 4, "bad row {line:?}");
        rows.push((
            cols[0].parse().unwrap(),
            cols[1].parse().unwrap(),
            cols[2].parse().unwrap(),
        ));
    }
    (rows, total.expect("#[Max footer"))
}

pub fn sorted_u64(values: &serde_json::Value) -> Vec<u64> {
    let mut v: Vec<u64> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    v.sort_unstable();
    v
}

/// Run a script from tests/support/pickle with the venv's Python, panicking with its stderr on
/// failure: a missing interpreter must fail the test, not skip it.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-B")
        .arg(root().join("tests/support/pickle").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", python()));
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Pickles written by real CPython (tests/support/pickle/gen_fixtures.py), once per test run.
pub fn fixtures() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixtures_main");
        let _ = std::fs::remove_dir_all(&dir);
        run_python("gen_fixtures.py", &[dir.to_str().unwrap()]);
        dir
    })
    .clone()
}

/// A single-object payload's size equals the independent one; where the independent dump failed
/// ("Type: message"), the payload failed with that same error.
pub fn assert_size_or_error(p: &serde_json::Value, truth: &serde_json::Value) {
    match truth.as_str() {
        Some(error) => {
            assert_eq!(p["picklable"], false, "{p}");
            let reported = p["error"].as_str().unwrap_or_default();
            assert!(reported.starts_with(error), "{reported} vs {error}");
        }
        None => assert_eq!(p["bytes"]["total"], *truth, "{}", p["name"]),
    }
}

/// Every per-page size reported for `name` equals the independent `len(pickle.dumps(...))`.
pub fn assert_page_sizes(r: &serde_json::Value, truth: &serde_json::Value, name: &str) {
    let p = payload(r, name);
    assert_eq!(p["picklable"], true, "{name}: {}", p["error"]);
    let reported = sorted_u64(&serde_json::Value::Array(
        p["sizes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["bytes"].clone())
            .collect(),
    ));
    assert_eq!(
        reported,
        sorted_u64(&truth[name]),
        "{name}: every size equals len(pickle.dumps(obj, 5))"
    );
}

/// `picklecost compare BEFORE AFTER EXTRA...`
pub fn compare(before: &Path, after: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["compare", before.to_str().unwrap(), after.to_str().unwrap()];
    args.extend_from_slice(extra);
    picklecost(&args)
}

/// The tool's own memory is reported: the loaded site's size, each phase's peak, the overall
/// peak (the largest phase peak, at least the tool plus the loaded site).
pub fn assert_memory_reported(r: &serde_json::Value) {
    let m = &r["memory"];
    let before = m["rss_before_load"].as_u64().unwrap();
    let site = m["loaded_site"].as_u64().unwrap();
    let peak = m["peak"].as_u64().unwrap();
    assert!(before > 0 && site > 0, "{m}");
    let phases = m["phase_peaks"].as_object().unwrap();
    for phase in ["load", "measure"] {
        assert!(phases[phase].as_u64().unwrap() > 0, "{m}");
    }
    assert_eq!(
        peak,
        phases.values().map(|v| v.as_u64().unwrap()).max().unwrap(),
        "{m}"
    );
    assert!(peak >= before + site / 2, "{m}");
    assert!(m["largest_payload"].as_u64().unwrap() > 0, "{m}");
}

/// Every size a payload reports, sorted.
pub fn reported_sizes(p: &serde_json::Value) -> Vec<u64> {
    let mut sizes: Vec<u64> = p["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bytes"].as_u64().unwrap())
        .collect();
    sizes.sort_unstable();
    sizes
}

/// Bengal's own page count after a full build of a copy of `site` (tests/support/rendered_count.py).
pub fn rendered_page_count(site: &Path) -> u64 {
    let out = Command::new(python())
        .arg("-B")
        .arg(root().join("tests/support/rendered_count.py"))
        .arg(site)
        .output()
        .unwrap();
    result_line(&out, "rendered_count.py")
        .as_u64()
        .expect("rendered_count.py prints a page count")
}

/// A run of the tool a test checks for what it left behind: its own TMPDIR (`scratch`), a marker
/// in its environment that every process it starts inherits, and its process id (the tool's
/// memory-backed scratch is /dev/shm/pc-PID-N).
pub struct IsolatedRun {
    pub output: Output,
    pub pid: u32,
    pub marker: String,
}

/// Run `picklecost ARGS` with TMPDIR set to `scratch` (created) and a unique
/// `PICKLECOST_TEST_RUN` marker, as a user's shell would (see `picklecost`).
pub fn run_isolated(args: &[&str], scratch: &Path) -> IsolatedRun {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    std::fs::create_dir_all(scratch).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let marker = format!("{}-{nanos}-{n}", std::process::id());
    let child = Command::new(bin())
        .args(args)
        .env_remove("PYTHONUNBUFFERED")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("VIRTUAL_ENV")
        .env("TMPDIR", scratch)
        .env("PICKLECOST_TEST_RUN", &marker)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running picklecost");
    let pid = child.id();
    let output = child.wait_with_output().expect("waiting for picklecost");
    IsolatedRun { output, pid, marker }
}

/// The run left no scratch: nothing in its TMPDIR, no /dev/shm/pc-PID-* of its process.
pub fn assert_no_scratch_left(run: &IsolatedRun, scratch: &Path) {
    let left: Vec<_> = std::fs::read_dir(scratch)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
    let mine = format!("pc-{}-", run.pid);
    let in_memory: Vec<String> = std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&mine))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        in_memory.is_empty(),
        "memory-backed scratch left behind: {in_memory:?}"
    );
}

/// No process whose environment holds `PICKLECOST_TEST_RUN=<marker>` is alive: the tool and
/// every worker it started have ended. A process already killed may take a moment to go, so
/// the scan is repeated for up to five seconds before a survivor fails the test.
pub fn assert_no_process_left(marker: &str) {
    let mut survivors = Vec::new();
    for _ in 0..50 {
        survivors = processes_marked(marker);
        if survivors.is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("processes left running: {survivors:?}");
}

/// (pid, command line) of the live processes whose environment holds
/// `PICKLECOST_TEST_RUN=<marker>`.
pub fn processes_marked(marker: &str) -> Vec<(u32, String)> {
    let needle = format!("PICKLECOST_TEST_RUN={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // A process that ended meanwhile, or one of another user, cannot be read: not ours.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|var| var == needle.as_bytes()) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

/// The record of one limited phase in results.json (`limits`): seconds used, cut, done of planned.
pub fn phase_limit<'a>(r: &'a serde_json::Value, phase: &str) -> &'a serde_json::Value {
    r["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["phase"] == phase)
        .unwrap_or_else(|| panic!("no {phase} limit in {}", r["limits"]))
}
