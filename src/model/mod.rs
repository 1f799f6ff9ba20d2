//! Plain data every stage shares: the kinds of things picklecost measures (enums serialized to
//! the strings results.json uses) and the results document. Imports nothing of the pipeline.
pub mod explain;
pub mod growth;
pub mod limit;
pub mod phase_limit;
pub mod readiness;
pub mod readset;
pub mod results;
pub mod scale;
pub mod stats;
pub mod transport;

use serde::{Deserialize, Serialize};

/// How far the site is taken before measuring.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// What a build has before rendering.
    Discovered,
    /// After a full build (always of a copy of the site).
    Rendered,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Discovered => "discovered",
            Stage::Rendered => "rendered",
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GcMode {
    Off,
    On,
}

/// What a worker receives.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum PayloadKind {
    /// The whole Site object.
    Site,
    /// Each Page object on its own.
    Page,
    /// Per page, a plain view of the selected fields.
    PageSubset,
    /// The smallest self-contained page payload `explain` suggested.
    PageSuggested,
    /// The generator's own per-page worker payload, where it ships one (Bengal 0.5's PageView).
    PageGenerator,
    /// A further whole-site object the adapter names (Sphinx's build environment, `app.env`),
    /// shipped once per worker like the Site.
    SiteExtra,
    /// Per page, the data real renders read from it (and from other pages through it).
    PageRead,
    /// The data real renders read from the site: `page_read`'s once-per-worker part.
    SiteRead,
}

impl PayloadKind {
    /// Every kind, in declaration order. The derive lists the variants, so a new kind is
    /// never missing from what accepts or names the kinds.
    pub fn all() -> &'static [PayloadKind] {
        <Self as clap::ValueEnum>::value_variants()
    }

    /// The kind results.json spells `name` (its serde name).
    pub fn from_name(name: &str) -> Option<Self> {
        use serde::de::IntoDeserializer;
        let name: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = name.into_deserializer();
        Self::deserialize(name).ok()
    }

    pub fn name(self) -> &'static str {
        match self {
            PayloadKind::Site => "site",
            PayloadKind::Page => "page",
            PayloadKind::PageSubset => "page_subset",
            PayloadKind::PageSuggested => "page_suggested",
            PayloadKind::PageGenerator => "page_generator",
            PayloadKind::SiteExtra => "site_extra",
            PayloadKind::PageRead => "page_read",
            PayloadKind::SiteRead => "site_read",
        }
    }

    /// One object for the whole site, or one per page.
    pub fn per_page(self) -> bool {
        !matches!(
            self,
            PayloadKind::Site | PayloadKind::SiteExtra | PayloadKind::SiteRead
        )
    }
}

/// How a payload reaches a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TransportKind {
    /// By reference to a thread: the zero-copy baseline.
    #[serde(rename = "thread")]
    Thread,
    /// Pickled into an isolated sub-interpreter (own GIL).
    #[serde(rename = "subinterpreter")]
    Subinterpreter,
    /// Pickled into a legacy-config sub-interpreter (shares the main GIL).
    #[serde(rename = "subinterpreter-legacy")]
    SubinterpreterLegacy,
    /// Pickled into a spawned worker process.
    #[serde(rename = "process")]
    Process,
    /// Pickled into a worker process forked by multiprocessing's forkserver (the default start
    /// method from Python 3.14 on Linux).
    #[serde(rename = "forkserver")]
    Forkserver,
    /// Shared with a forked child copy-on-write: nothing pickled out, results pickled back.
    #[serde(rename = "fork")]
    Fork,
}

impl TransportKind {
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Thread => "thread",
            TransportKind::Subinterpreter => "subinterpreter",
            TransportKind::SubinterpreterLegacy => "subinterpreter-legacy",
            TransportKind::Process => "process",
            TransportKind::Forkserver => "forkserver",
            TransportKind::Fork => "fork",
        }
    }

    /// The transport that starts workers the way `start_method` (as
    /// `multiprocessing.get_start_method()` names it) does: spawn, forkserver, fork.
    pub fn of_start_method(start_method: &str) -> Option<Self> {
        match start_method {
            "spawn" => Some(TransportKind::Process),
            "forkserver" => Some(TransportKind::Forkserver),
            "fork" => Some(TransportKind::Fork),
            _ => None,
        }
    }

    /// Transports whose pool workers each hold an unpickled copy of what they are sent (the
    /// site, for a whole-site payload): what the memory's cap on workers applies to.
    pub fn pooled(self) -> bool {
        matches!(
            self,
            TransportKind::Subinterpreter
                | TransportKind::SubinterpreterLegacy
                | TransportKind::Process
                | TransportKind::Forkserver
        )
    }

    /// Transports that give a worker its own interpreter (a copy of the payload, or a forked
    /// share of it): the ones a verdict is given for. Threads are the zero-copy baseline.
    pub fn judged(self) -> bool {
        matches!(
            self,
            TransportKind::Subinterpreter
                | TransportKind::Process
                | TransportKind::Forkserver
                | TransportKind::Fork
        )
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for GcMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GcMode::Off => "off",
            GcMode::On => "on",
        })
    }
}

impl std::fmt::Display for PayloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A strategy's class by transfer cost as a share of render cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictClass {
    Practical,
    Marginal,
    Impractical,
    /// No render cost to compare with (a generator picklecost cannot render).
    Unknown,
    /// The payload ships, but the worker cannot import the generator's renderer there (an
    /// isolated sub-interpreter refusing a module of its import chain): whatever the share,
    /// that worker cannot render.
    Blocked,
}

impl VerdictClass {
    pub fn word(self) -> &'static str {
        match self {
            VerdictClass::Practical => "practical",
            VerdictClass::Marginal => "marginal",
            VerdictClass::Impractical => "impractical",
            VerdictClass::Unknown => "unclassified (no render cost)",
            VerdictClass::Blocked => "blocked (the worker cannot import the renderer)",
        }
    }
}

/// Verdict thresholds: transfer cost as a share of render cost.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    /// At most this share of render cost is `practical`.
    pub practical: f64,
    /// At most this share is `marginal`; above it, `impractical`.
    pub marginal: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            practical: DEFAULT_PRACTICAL,
            marginal: DEFAULT_MARGINAL,
        }
    }
}

pub const DEFAULT_PRACTICAL: f64 = 0.05;
pub const DEFAULT_MARGINAL: f64 = 0.25;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_kind_is_listed_and_parsed_by_its_serde_name() {
        let all = PayloadKind::all();
        assert!(all.contains(&PayloadKind::SiteExtra), "{all:?}");
        for &kind in all {
            let serde_name = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_name, format!("\"{}\"", kind.name()));
            assert_eq!(PayloadKind::from_name(kind.name()), Some(kind));
            let value = <PayloadKind as clap::ValueEnum>::to_possible_value(&kind).unwrap();
            assert_eq!(value.get_name(), kind.name());
        }
        let mut names: Vec<&str> = all.iter().map(|k| k.name()).collect();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for unknown in ["pages", "Site", "site-extra", ""] {
            assert_eq!(PayloadKind::from_name(unknown), None, "{unknown:?}");
        }
    }
}
