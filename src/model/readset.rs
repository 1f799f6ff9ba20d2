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
    pub page_calls: Vec<FieldCount>,
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
    /// The page has no source file of its own (the generator made it).
    #[serde(default)]
    pub virtual_page: bool,
    pub line: u64,
    #[serde(default)]
    pub real: String,
    #[serde(default)]
    pub traced: String,
    /// Reads outside the read set the render made (the proof's stand-ins answered them with a
    /// missing name, which a renderer may catch and render otherwise), where there were any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<String>,
}

/// A traced render that failed.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct TraceFailure {
    pub page: String,
    #[serde(default)]
    pub virtual_page: bool,
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
    /// Page methods the render only called (`page.extract_links()`): its actions on the page.
    #[serde(default)]
    pub page_calls: Vec<FieldCount>,
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
    /// Where a page holds the site (`page._site`): a stand-in page holds the site's there.
    #[serde(default)]
    pub site_refs: Vec<String>,
    /// The proof, as the tracing process made it (results.json has it as `proof`).
    #[serde(default, skip_serializing)]
    pub proof: Option<Proof>,
    /// Why the tracing process made no proof.
    #[serde(default, skip_serializing)]
    pub proof_error: Option<String>,
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
        ) + &match self.failed.len() {
            0 => String::new(),
            n => format!(" ({n} more failed or left no HTML)"),
        }
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

/// Rendering the sampled pages from the read set alone (stand-ins holding only the traced data,
/// in the tracing process): how many gave the real HTML, the others with their first differing
/// line or their error, and the paths the fixpoint added (reads the trace missed).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Proof {
    pub pages: u64,
    pub identical: u64,
    #[serde(default)]
    pub different: Vec<TraceDifference>,
    #[serde(default)]
    pub failed: Vec<TraceFailure>,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub rounds: u64,
}

impl Proof {
    /// "renders identically …: N of M page(s)" and what went otherwise.
    pub fn line(&self) -> String {
        let mut line = format!(
            "renders identically from the read set alone: {} of {} page(s)",
            self.identical, self.pages
        );
        if !self.failed.is_empty() {
            line.push_str(&format!("; {} failed", self.failed.len()));
        }
        if !self.different.is_empty() {
            line.push_str(&format!("; {} differ", self.different.len()));
        }
        if !self.added.is_empty() {
            line.push_str(&format!("; {} path(s) added by the fixpoint", self.added.len()));
        }
        line
    }
}

/// The page fields `page_read` carries beside the heuristic suggestion's and the generator's own
/// payload's (Bengal 0.5's `PageView`): what is in one and not the other.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct ReadComparison {
    /// `page_read`'s fields (the page fields the renders read).
    pub read: Vec<String>,
    /// None: no suggestion was made.
    pub suggested: Option<Vec<String>>,
    /// None: the generator has no payload of its own.
    pub generator: Option<Vec<String>>,
    pub read_not_suggested: Vec<String>,
    pub suggested_not_read: Vec<String>,
    pub read_not_generator: Vec<String>,
    pub generator_not_read: Vec<String>,
}

impl ReadComparison {
    pub fn of(rs: &ReadSet, suggested: Option<&[String]>, generator: Option<Vec<String>>) -> Self {
        let read: Vec<String> = rs.page_fields.iter().map(|f| f.field.clone()).collect();
        let minus = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| !b.contains(x)).cloned().collect()
        };
        let suggested = suggested.map(<[String]>::to_vec);
        let s = suggested.clone().unwrap_or_default();
        let g = generator.clone().unwrap_or_default();
        Self {
            read_not_suggested: if suggested.is_some() {
                minus(&read, &s)
            } else {
                Vec::new()
            },
            suggested_not_read: minus(&s, &read),
            read_not_generator: if generator.is_some() {
                minus(&read, &g)
            } else {
                Vec::new()
            },
            generator_not_read: minus(&g, &read),
            read,
            suggested,
            generator,
        }
    }
}
