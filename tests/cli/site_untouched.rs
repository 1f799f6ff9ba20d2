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
