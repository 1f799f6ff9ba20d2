//! What rendering reads, traced from real renders of `--loader` projects written for the test.
use crate::util::*;

/// Pages whose template reads `layout` (the same on every page, so the heuristic suggestion,
/// which keeps fields that differ between pages, drops it), the page's own title and body, the
/// site's name through `page.site`, and the previous page's title.
const PROJECT: &str = r#"
import threading

class Page:
    def __init__(self, site, n):
        self.site = site
        self.source_path = "content/page-%d.md" % n
        self.title = "Title %d" % n
        self.body = "word " * (20 * n)
        self.layout = "article"
        self.unread = "x" * (40 * n)
        self.prev = None

class Site:
    def __init__(self, root):
        self.name = "A site"
        self.lock = threading.Lock()
        self.pages = []

def load(root):
    site = Site(root)
    site.pages = [Page(site, n) for n in range(1, 7)]
    for before, page in zip(site.pages, site.pages[1:]):
        page.prev = before
    return site

def render(page):
    out = ["<html class=%s><title>%s | %s</title>" % (page.layout, page.title, page.site.name)]
    if page.prev is not None:
        out.append("<a>%s</a>" % page.prev.title)
    out.append("<p>%s</p></html>" % page.body)
    return "".join(out)
"#;

fn names<'a>(list: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_str().unwrap())
        .collect()
}

#[test]
fn the_read_set_has_what_the_template_reads_and_other_pages_apart() {
    let tmp = TempDir::new("readset");
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("content")).unwrap();
    std::fs::write(project.join("rsproj.py"), PROJECT).unwrap();
    let out = tmp.path().join("out");
    let o = analyze(
        &project,
        &out,
        &[
            "--loader",
            "rsproj:load",
            "--budget",
            "5",
            "--transport-budget",
            "5",
            "--no-check",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_results(&out);
    let rs = &r["read_set"];
    assert_eq!(rs["pages"], 6, "{rs}");
    assert_eq!(rs["identical"], 6, "tracing changed a render: {rs}");
    let fields = names(&rs["page_fields"], "field");
    for read in ["layout", "title", "body", "prev"] {
        assert!(fields.contains(&read), "{read} missing from {fields:?}");
    }
    // Never read; and the site reference is the site's part (once per worker), not the page's.
    assert!(
        !fields.contains(&"unread") && !fields.contains(&"site"),
        "{fields:?}"
    );
    // Every page's own title, read once per render, counted over the six renders.
    let title = &rs["page_fields"].as_array().unwrap()[fields.iter().position(|f| *f == "title").unwrap()];
    assert_eq!(title["count"], 6);
    // The site is reached through `page.site` and re-rooted there.
    assert_eq!(names(&rs["site_paths"], "path"), vec!["site.name"]);
    // The previous page's title is another page's data (five pages have a previous one).
    let other = rs["other_pages"].as_array().unwrap();
    assert_eq!(other.len(), 1, "{other:?}");
    assert_eq!(other[0]["path"], "page.prev.title");
    assert_eq!(other[0]["count"], 5);
    // The heuristic suggestion drops the field every page has the same value of; the render
    // reads it.
    let suggested: Vec<&str> = r["suggestion"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(suggested.contains(&"title"), "{suggested:?}");
    assert!(!suggested.contains(&"layout"), "{suggested:?}");
    assert_eq!(rs["templates"][0]["template"], "render(page)");
    assert_eq!(rs["templates"][0]["pages"], 6);
    let text = stdout(&o);
    assert!(text.contains("read set of 6 traced page(s)"), "{text}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## What rendering reads"), "{md}");
    assert!(md.contains("`page.prev.title` ×5"), "{md}");
    // Rendered again from stand-ins holding only the read set: every page identical, and
    // nothing had to be added to the read set.
    let proof = &r["proof"];
    assert_eq!(proof["pages"], 6, "{proof} {}", r["proof_note"]);
    assert_eq!(proof["identical"], 6, "{proof}");
    assert_eq!(proof["added"], serde_json::json!([]), "{proof}");
    assert!(r["proof_note"].is_null(), "{}", r["proof_note"]);
    assert!(
        text.contains("renders identically from the read set alone: 6 of 6 page(s)"),
        "{text}"
    );
    page_read_is_what_was_read(&r);
    assert!(
        md.contains("| `page_suggested` |") && md.contains("`layout`"),
        "{md}"
    );
}

/// `page_read` holds, per page, the values its paths read (the previous page's title under
/// `prev`), `site_read` the site's name: their reported sizes are the pickles of exactly that.
fn page_read_is_what_was_read(r: &serde_json::Value) {
    let protocol = r["settings"]["protocol"].as_u64().unwrap();
    let script = format!(
        r#"
import json, pickle
sizes = []
for n in range(1, 7):
    page = {{"body": "word " * (20 * n), "layout": "article",
             "prev": {{"title": "Title %d" % (n - 1)}} if n > 1 else None, "title": "Title %d" % n}}
    sizes.append(len(pickle.dumps(page, {protocol})))
print(json.dumps({{"page_read": sizes, "site_read": [len(pickle.dumps({{"name": "A site"}}, {protocol}))]}}))
"#
    );
    let out = std::process::Command::new(python())
        .args(["-B", "-c", &script])
        .output()
        .expect("running python");
    let truth: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the sizes");
    for name in ["page_read", "site_read"] {
        let p = payload(r, name);
        assert_eq!(p["picklable"], true, "{p}");
        assert_eq!(reported_sizes(p), sorted_u64(&truth[name]), "{name}");
    }
    let c = &r["read_comparison"];
    let listed = |key: &str| -> Vec<&str> {
        c[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect()
    };
    assert!(listed("read_not_suggested").contains(&"layout"), "{c}");
    assert!(c["generator"].is_null(), "{c}");
}
