//! What rendering reads (`read_set` in results.json): the paths a real render of the sampled
//! pages read from the page, the site and other pages, as the adapter's trace recorded them.
use serde::{Deserialize, Serialize};

/// A page attribute the render read, and how many times.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct FieldCount {
    pub field: String,
    pub count: u64,
}

/// A path read (`page.metadata['date']`, `site.pages[*].title`), and how many times.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct PathCount {
    pub path: String,
    pub count: u64,
    /// For a site path: its value differed between the pages rendered (read from the site, but
    /// not the same for every page).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub varies: bool,
}

/// The read set of the pages rendered with one template.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct TemplateReads {
    pub template: String,
    pub pages: u64,
    #[serde(default)]
    pub page_fields: Vec<FieldCount>,
    #[serde(default)]
    pub page_paths: Vec<PathCount>,
    #[serde(default)]
    pub site_paths: Vec<PathCount>,
    #[serde(default)]
    pub other_pages: Vec<PathCount>,
    /// Page attributes the render wrote before it read them: its outputs.
    #[serde(default)]
    pub produced: Vec<String>,
}

/// A traced render whose HTML differs from the real render of the same page.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct TraceDifference {
    pub page: String,
    pub line: u64,
    #[serde(default)]
    pub real: String,
    #[serde(default)]
    pub traced: String,
}

/// A traced render that failed.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct TraceFailure {
    pub page: String,
    pub error: String,
}

/// The read set over every traced render, the same per template, and the check that tracing
/// changed nothing: `identical` of `pages` traced renders gave the real render's HTML.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct ReadSet {
    pub pages: u64,
    pub identical: u64,
    #[serde(default)]
    pub different: Vec<TraceDifference>,
    #[serde(default)]
    pub failed: Vec<TraceFailure>,
    #[serde(default)]
    pub page_fields: Vec<FieldCount>,
    #[serde(default)]
    pub page_paths: Vec<PathCount>,
    #[serde(default)]
    pub site_paths: Vec<PathCount>,
    #[serde(default)]
    pub other_pages: Vec<PathCount>,
    #[serde(default)]
    pub produced: Vec<String>,
    #[serde(default)]
    pub templates: Vec<TemplateReads>,
}

impl ReadSet {
    /// The page fields' names.
    pub fn field_names(&self) -> Vec<&str> {
        self.page_fields.iter().map(|f| f.field.as_str()).collect()
    }

    /// One line: fields, site paths, other pages' paths, templates, the tracing check.
    pub fn line(&self) -> String {
        format!(
            "read set of {} traced page(s), {} template(s): {} page field(s) ({}), {} site-wide \
             path(s){}, {} path(s) into other pages; traced renders identical to the real ones: {} of {}",
            self.pages,
            self.templates.len(),
            self.page_fields.len(),
            listed(&self.field_names(), 8),
            self.site_paths.len(),
            match self.site_paths.iter().filter(|p| p.varies).count() {
                0 => String::new(),
                n => format!(" ({n} varying per page)"),
            },
            self.other_pages.len(),
            self.identical,
            self.pages
        )
    }
}

/// Up to `most` names, then how many more.
fn listed(names: &[&str], most: usize) -> String {
    let mut out = names.iter().take(most).copied().collect::<Vec<_>>().join(", ");
    if names.len() > most {
        out.push_str(&format!(" and {} more", names.len() - most));
    }
    out
}

/// Rendering sampled pages from the read set alone, in a worker: how many gave the real HTML.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Proof {
    pub pages: u64,
    pub identical: u64,
    #[serde(default)]
    pub different: Vec<TraceDifference>,
}
