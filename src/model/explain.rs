//! What the explanations found, as plain data: culprits, byte attribution, drag, the suggestion.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Culprit {
    pub path: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub error: String,
    pub paths_reaching: u64,
}

/// Culprits of one type reached by one path pattern (`site.pages[*]._init_lock`).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct RootCause {
    pub pattern: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub error: String,
    /// Culprit instances.
    pub count: u64,
    /// One full path.
    pub example: String,
    /// References reaching them, summed.
    #[serde(default)]
    pub paths: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Culprits {
    pub failures: Vec<Culprit>,
    #[serde(default)]
    pub root_causes: Vec<RootCause>,
    pub visited: u64,
    pub truncated: bool,
    pub limits: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TopPath {
    pub path: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub inclusive_bytes: u64,
    pub exclusive_bytes: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TypeBytes {
    #[serde(rename = "type")]
    pub type_name: String,
    pub bytes: u64,
    pub count: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ByteTree {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    pub bytes: u64,
    #[serde(default)]
    pub children: Vec<ByteTree>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Attribution {
    /// The object the bytes were attributed for (a typical one for per-page payloads).
    #[serde(default)]
    pub subject: String,
    pub total_bytes: u64,
    pub pickle_bytes: u64,
    pub top_paths: Vec<TopPath>,
    pub by_type: Vec<TypeBytes>,
    pub shared_bytes: u64,
    #[serde(skip_serializing)]
    pub tree: Option<ByteTree>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Drag {
    pub path: String,
    /// Bytes this reference adds to the page's pickle (memo-aware: what an earlier attribute
    /// already pulled in costs nothing here).
    pub bytes: Option<u64>,
    /// What it reaches: "site", "page" or "both".
    pub reaches: String,
    #[serde(default)]
    pub parent: Option<String>,
    /// Bytes of this value pickled on its own.
    #[serde(default)]
    pub alone_bytes: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Dropped {
    pub field: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Suggestion {
    pub fields: Vec<String>,
    pub exclude_keys: BTreeMap<String, Vec<serde_json::Value>>,
    pub median_bytes: Option<u64>,
    #[serde(default)]
    pub dropped: Vec<Dropped>,
    #[serde(default)]
    pub sampled: u64,
    #[serde(default)]
    pub checked: u64,
    /// The time limit cut the safety checks short: they saw `checked` pages, not all.
    #[serde(default)]
    pub cut: bool,
}

impl Suggestion {
    /// The suggestion as options for a next run.
    pub fn as_options(&self) -> String {
        let mut s = format!("--fields {}", self.fields.join(","));
        let excluded: Vec<String> = self
            .exclude_keys
            .iter()
            .flat_map(|(field, keys)| {
                keys.iter()
                    .map(move |k| format!("{field}:{}", k.as_str().map_or(k.to_string(), str::to_string)))
            })
            .collect();
        if !excluded.is_empty() {
            s.push_str(&format!(" --exclude-keys {}", excluded.join(",")));
        }
        s
    }
}

/// What pickling an unpicklable object costs once its culprits are replaced by stand-ins
/// (`picklecost.repair`), measured in this process on bytes it made.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct RepairedRaw {
    pub bytes: Option<u64>,
    #[serde(default)]
    pub dumps_ns: Vec<u64>,
    #[serde(default)]
    pub loads_ns: Vec<u64>,
    /// Type name -> objects replaced.
    #[serde(default)]
    pub repairs: BTreeMap<String, u64>,
    /// What still fails after the repairs.
    pub error: Option<String>,
}

/// The suggested page fields against the generator's own payload's fields.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct FieldComparison {
    pub only_suggested: Vec<String>,
    pub only_generator: Vec<String>,
    pub both: Vec<String>,
}
