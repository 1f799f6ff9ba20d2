//! The site directory is read-only to the tool by construction: generator code runs on a private
//! copy, and a change to the site found anyway is a loud error.
use crate::util::*;
use std::path::Path;

/// A `--loader` project that writes into its own directory at import, while loading and into
/// every page's object (a cache next to its sources, as template engines keep one), and records
/// where it wrote in each page so the test can see the writes happened.
const WRITING_LOADER: &str = r#"
import os, pathlib
HERE = pathlib.Path(__file__).parent
(HERE / "cache").mkdir(exist_ok=True)
(HERE / "cache" / "at-import.txt").write_text("compiled")

class Page:
    def __init__(self, n, wrote):
        self.source_path = "content/p%d.md" % n
        self.content = "page %d " % n * 50
        self.wrote = wrote

class Site:
    def __init__(self, root, stage):
        out = pathlib.Path(root) / "cache" / ("load-%s.txt" % stage)
        out.write_text("written while loading")
        with open(pathlib.Path(root) / "log.txt", "a") as log:
            log.write("loaded %s\n" % stage)
        self.pages = [Page(n, str(out)) for n in range(6)]

def load(root, stage="discovered"):
    return Site(root, stage)

def render(page):
    # A render cache next to the sources, as template engines keep compiled templates.
    name = pathlib.Path(page.source_path).stem
    out = HERE / "cache" / ("render-%s.html" % name)
    out.write_text("<p>%s</p>" % page.content[:20])
    return out.read_text()
"#;

fn writing_project(tmp: &TempDir) -> std::path::PathBuf {
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("content")).unwrap();
    std::fs::write(project.join("writer.py"), WRITING_LOADER).unwrap();
    std::fs::write(project.join("content/p0.md"), "# zero\n").unwrap();
    project
}

fn run_both_stages(project: &Path, tmp: &TempDir, loader: &str) -> Vec<std::process::Output> {
    ["discovered", "rendered"]
        .iter()
        .map(|stage| {
            let out = tmp.path().join(format!("out-{stage}"));
            analyze(
                project,
                &out,
                &[
                    "--loader",
                    loader,
                    "--stage",
                    stage,
                    "--budget",
                    "1",
                    "--no-transports",
                ],
            )
        })
        .collect()
}

#[test]
fn a_loader_that_writes_into_its_own_directory_leaves_the_site_byte_identical() {
    let tmp = TempDir::new("untouched-loader");
    let project = writing_project(&tmp);
    let before = snapshot(&project);
    for (o, stage) in run_both_stages(&project, &tmp, "writer:load")
        .iter()
        .zip(["discovered", "rendered"])
    {
        assert!(o.status.success(), "{stage}: {}", stderr(o));
        let results = read_results(&tmp.path().join(format!("out-{stage}")));
        // The loader did write: into the private copy, which has a path of the site's length.
        let copy = results["site"]["copy"]["path"].as_str().unwrap();
        assert_eq!(copy.len(), project.to_str().unwrap().len(), "{copy}");
        assert!(!copy.starts_with(project.to_str().unwrap()), "{copy}");
        assert_eq!(results["site"]["copy"]["path_bytes_delta"], 0);
        assert_eq!(results["site"]["copy"]["files"], 2, "writer.py and content/p0.md");
    }
    assert_eq!(before, snapshot(&project), "the site changed");
}

/// `picklecost scale SITE --python <the test venv> --out OUT -q EXTRA...`
fn scale(site: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let python = python();
    let mut args = vec![
        "scale",
        site.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(extra);
    picklecost(&args)
}

/// The entries results.json lists as changed in the private copy (`site.copy.changed`).
fn copy_changes(results: &serde_json::Value) -> Vec<String> {
    strings(&results["site"]["copy"]["changed"])
}

fn strings(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn what_a_writing_loader_wrote_is_listed_as_changes_of_the_copy() {
    let tmp = TempDir::new("untouched-loader-writes");
    let project = writing_project(&tmp);
    let before = snapshot(&project);
    let outs = run_both_stages(&project, &tmp, "writer:load");
    for (o, stage) in outs.iter().zip(["discovered", "rendered"]) {
        assert!(o.status.success(), "{stage}: {}", stderr(o));
    }
    assert_eq!(before, snapshot(&project), "the site changed");
    // discovered: the import and the load wrote into the private copy.
    let discovered = read_results(&tmp.path().join("out-discovered"));
    let changed = copy_changes(&discovered);
    for entry in [
        "added cache",
        "added cache/at-import.txt",
        "added cache/load-discovered.txt",
        "added log.txt",
    ] {
        assert!(changed.contains(&entry.to_string()), "{entry} not in {changed:?}");
    }
    assert_eq!(discovered["site"]["copy"]["changed_count"], changed.len());
    assert_eq!(discovered["site"]["build_changed_count"], 0);
    // rendered: the module is imported from the copy, the site is loaded from the build copy.
    let rendered = read_results(&tmp.path().join("out-rendered"));
    assert!(copy_changes(&rendered).contains(&"added cache/at-import.txt".to_string()));
    let build = strings(&rendered["site"]["build_changed"]);
    assert!(
        build.contains(&"added cache/load-rendered.txt".to_string()),
        "{build:?}"
    );
    let md = std::fs::read_to_string(tmp.path().join("out-rendered/report.md")).unwrap();
    assert!(
        md.contains("`added cache/load-rendered.txt`"),
        "report.md lacks the build's writes"
    );
}

/// `scale` renders through the loader's `render(page)`, which writes a cache next to the sources
/// from every worker: the site stays byte-identical, the copy shows every page's cache file.
#[test]
fn scale_with_a_render_that_writes_next_to_its_sources_leaves_the_site_byte_identical() {
    let tmp = TempDir::new("untouched-scale");
    let project = writing_project(&tmp);
    let before = snapshot(&project);
    let out = tmp.path().join("out");
    let o = scale(
        &project,
        &out,
        &["--loader", "writer:load", "--pages", "6", "--workers", "1,2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, snapshot(&project), "the site changed");
    let r = read_results(&out);
    let render = r["scale"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|run| run["workload"] == "render" && run["available"] == true)
        .count();
    assert!(render > 0, "no render run: {}", r["scale"]);
    let changed = copy_changes(&r);
    for n in 0..6 {
        let entry = format!("added cache/render-p{n}.html");
        assert!(changed.contains(&entry), "{entry} not in {changed:?}");
    }
    assert_eq!(
        r["site"]["copy"]["path"].as_str().unwrap().len(),
        project.to_str().unwrap().len()
    );
}

fn docs_templates() -> std::path::PathBuf {
    root().join("samples/docs-templates").canonicalize().unwrap()
}

/// Bengal 0.1 (Jinja2) keeps its template bytecode cache under the output directory; Bengal
/// 0.5's kida caches compiled templates next to the first template directory (the site's own
/// `templates/__pycache__/kida/`) when Bengal turns its own cache off, as picklecost's renders do.
fn is_bengal_01(results: &serde_json::Value) -> bool {
    results["site"]["generator_version"]
        .as_str()
        .unwrap()
        .starts_with("0.1")
}

/// Renders of the discovered site (the render cost, scale) wrote compiled templates into the
/// private copy where the engine caches them next to the templates, and nothing otherwise.
fn assert_template_cache_in_copy(r: &serde_json::Value) {
    let changed = copy_changes(r);
    if is_bengal_01(r) {
        assert_eq!(
            changed,
            Vec::<String>::new(),
            "Jinja2's cache follows the output directory, which points into the work directory"
        );
    } else {
        assert!(
            changed
                .iter()
                .any(|c| c.starts_with("added templates/__pycache__/kida/")),
            "kida compiled the site's templates next to them, in the copy: {changed:?}"
        );
    }
}

#[test]
fn a_site_with_its_own_templates_stays_byte_identical_through_analyze_at_both_stages() {
    let tmp = TempDir::new("untouched-templates");
    let site = docs_templates();
    let before = snapshot(&site);
    let discovered = tmp.path().join("discovered");
    let o = analyze(&site, &discovered, &["--budget", "1", "--transport-budget", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rendered = tmp.path().join("rendered");
    let o = analyze(
        &site,
        &rendered,
        &["--stage", "rendered", "--budget", "1", "--no-transports"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, snapshot(&site), "the site changed");

    let r = read_results(&discovered);
    assert_eq!(r["render"]["available"], true, "{}", r["render"]);
    assert_template_cache_in_copy(&r);
    // The rendered build compiled the templates into its own copy.
    let r = read_results(&rendered);
    let build = strings(&r["site"]["build_changed"]);
    let cache = if is_bengal_01(&r) {
        "public/.bengal-cache/templates/__bengal_template_"
    } else {
        "kida/"
    };
    assert!(
        build.iter().any(|c| c.contains(cache)),
        "{cache} not in {build:?}"
    );
    assert_eq!(
        copy_changes(&r),
        Vec::<String>::new(),
        "the build ran in its own copy"
    );
}

#[test]
fn a_site_with_its_own_templates_stays_byte_identical_through_scale() {
    let tmp = TempDir::new("untouched-templates-scale");
    let site = docs_templates();
    let before = snapshot(&site);
    let out = tmp.path().join("out");
    let o = scale(
        &site,
        &out,
        &["--pages", "5", "--workers", "1", "--strategies", "thread,fork"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, snapshot(&site), "the site changed");
    let r = read_results(&out);
    assert_eq!(r["scale"]["pages"], 5);
    assert_template_cache_in_copy(&r);
}

#[test]
fn a_site_with_its_own_templates_stays_byte_identical_through_growth() {
    let tmp = TempDir::new("untouched-templates-growth");
    let site = docs_templates();
    let before = snapshot(&site);
    let out = tmp.path().join("out");
    let o = analyze(&site, &out, &["--growth", "--no-transports", "--budget", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(before, snapshot(&site), "the site changed");
    let r = read_results(&out);
    let points = r["growth"]["points"].as_array().unwrap();
    assert!(!points.is_empty(), "no copy measured: {}", r["growth"]);
}

#[test]
fn pages_are_named_relative_to_the_site_wherever_they_were_loaded_from() {
    let tmp = TempDir::new("untouched-names");
    let site = tiny_blog();
    let out = tmp.path().join("out");
    let o = analyze(&site, &out, &["--budget", "1", "--no-transports"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let results = read_results(&out);
    let copy = results["site"]["copy"]["path"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    // Nothing reported names a path in the scratch copy.
    assert!(!text.replace(&format!("\"path\": \"{copy}\""), "").contains(&copy));
    assert!(!md.contains(&copy), "report.md names the scratch copy");
}

/// A writer that reaches the real site by an absolute path (which no copy can redirect) is
/// caught by the fingerprint: one error line naming the path, exit 1, no report.
#[test]
fn a_change_to_the_site_during_the_run_is_a_loud_error_naming_the_path() {
    let tmp = TempDir::new("untouched-changed");
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("intruder.py"),
        format!(
            "import pathlib\nclass Page:\n    def __init__(self):\n        self.source_path = 'a.md'\n        self.content = 'x'\n\
             class Site:\n    def __init__(self):\n        self.pages = [Page()]\n\
             def load(root):\n    pathlib.Path({:?}, 'oops.txt').write_text('x')\n    return Site()\n",
            project.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = analyze(
        &project,
        &out,
        &["--loader", "intruder:load", "--budget", "1", "--no-transports"],
    );
    assert_one_error_line(&o, "changed during the run (added oops.txt)");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !out.exists(),
        "a report was written for a run that changed the site"
    );
}

/// Bengal's generated tag pages (rendered stage) are named by their virtual path and marked
/// virtual in results.json and report.md; every other page is its source file relative to the
/// site root, unmarked. No page name is absolute.
#[test]
fn virtual_pages_are_named_by_the_generator_and_marked_real_ones_by_their_file() {
    let tmp = TempDir::new("untouched-virtual");
    let site = tiny_blog();
    let out = tmp.path().join("out");
    let o = analyze(
        &site,
        &out,
        &["--stage", "rendered", "--budget", "1", "--transport-budget", "2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let mut virtual_pages = 0;
    for name in ["page", "page_subset", "page_suggested"] {
        let p = payload(&r, name);
        let entries = p["sizes"]
            .as_array()
            .unwrap()
            .iter()
            .chain(p["failed_objects"].as_array().unwrap());
        for entry in entries {
            let key = entry["key"].as_str().unwrap();
            assert!(!key.starts_with('/'), "{name}: {key} is absolute");
            if entry["virtual"] == true {
                virtual_pages += 1;
                assert!(key.starts_with(".bengal/generated/tags/"), "{key}");
                assert!(!site.join(key).exists(), "{key} has a file");
            } else {
                assert!(entry.get("virtual").is_none(), "{entry}");
                assert!(site.join(key).is_file(), "{key} is not a file of the site");
            }
        }
    }
    assert!(
        virtual_pages > 0,
        "a rendered Bengal site has generated tag pages"
    );
    assert!(
        r["render"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e.as_str().unwrap().starts_with('/'))
    );
    // report.md: the page tables mark virtual pages, and only those.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| `content/") || l.starts_with("| `.bengal/"))
        .collect();
    assert!(!rows.is_empty(), "no page rows in report.md");
    for row in rows {
        assert_eq!(
            row.starts_with("| `.bengal/generated/"),
            row.contains("` (virtual) |"),
            "{row}"
        );
    }
    // Scratch paths appear nowhere as a page's name, on the terminal either.
    let build_root = r["site"]["build_root"].as_str().unwrap();
    assert!(
        !stdout(&o).contains(build_root) && !md.replace(&format!("`{build_root}`"), "").contains(build_root)
    );
}

/// `scale` on the rendered tiny blog: the rendered pages named as analyze names them, the
/// virtual ones listed.
#[test]
fn scale_names_pages_relative_to_the_site_and_lists_the_virtual_ones() {
    let tmp = TempDir::new("untouched-scale-names");
    let site = tiny_blog();
    let out = tmp.path().join("out");
    let o = scale(
        &site,
        &out,
        &[
            "--stage",
            "rendered",
            "--pages",
            "20",
            "--workers",
            "1",
            "--strategies",
            "thread",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let keys = strings(&r["scale"]["page_keys"]);
    let virtual_pages = strings(&r["scale"]["virtual_pages"]);
    assert_eq!(keys.len(), 20);
    for key in &keys {
        assert!(!key.starts_with('/'), "{key}");
        assert_eq!(virtual_pages.contains(key), !site.join(key).is_file(), "{key}");
    }
    assert!(
        !virtual_pages.is_empty(),
        "the sample covers generated tag pages: {keys:?}"
    );
    assert!(
        virtual_pages.iter().all(|k| k.starts_with(".bengal/generated/")),
        "{virtual_pages:?}"
    );
}

/// The adapters load the private copy, but what a load error names is the site.
#[test]
fn a_load_error_names_the_site_not_its_private_copy() {
    let tmp = TempDir::new("untouched-error-names");
    let site = tmp.path().join("site");
    std::fs::create_dir_all(site.join("content")).unwrap();
    std::fs::write(site.join("bengal.toml"), "[site\ntitle = \"x\"\n").unwrap();
    let out = tmp.path().join("out");
    let o = analyze(&site, &out, &[]);
    let wanted = format!("{} is not valid TOML", site.join("bengal.toml").display());
    assert_one_error_line(&o, &wanted);
}
