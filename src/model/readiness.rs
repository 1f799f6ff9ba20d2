//! Beyond the first refusal: every module that keeps an entry point (or a payload's module) out
//! of isolated sub-interpreters, each found with the ones before it replaced by a recording stub
//! (`picklecost.stubs`), and what the code asked of the stubs. The readiness table's cells, in
//! words, for the terminal and report.md of `analyze` and `scale`.
use serde::{Deserialize, Serialize};

/// One module that refused to load in an isolated sub-interpreter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    /// The refusing module (the chain's last).
    pub module: String,
    /// Entry point first, the refusing module last.
    pub chain: Vec<String>,
    pub error: String,
    /// The module replaced by a stub for it: the refusing one, or for a private extension
    /// (`_tracemalloc`) the public module that imported it (`tracemalloc`).
    pub stub: String,
}

/// What the code asked of a stub: one dotted name, how often it was read and called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StubUse {
    pub name: String,
    pub gets: u64,
    pub calls: u64,
}

/// Every blocker of one module, the stubs made for them, and whether it then loaded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Beyond {
    /// In the order they were found: each only after the ones before it were stubbed.
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    #[serde(default)]
    pub stubs: Vec<String>,
    /// During the import that went furthest (all the stubs installed).
    #[serde(default)]
    pub stub_uses: Vec<StubUse>,
    /// Whether it loads with `stubs` installed (None: not tried).
    #[serde(default)]
    pub loads_with_stubs: Option<bool>,
    /// Why the search stopped short of loading (an error that is not a refusal, the limit).
    #[serde(default)]
    pub stopped: Option<String>,
}

impl StubUse {
    /// "tracemalloc.is_tracing (read 2×, called 2×)".
    pub fn words(&self) -> String {
        format!("{} (read {}×, called {}×)", self.name, self.gets, self.calls)
    }
}

impl Beyond {
    /// "_tracemalloc via entry → middle → tracemalloc → _tracemalloc (stub: tracemalloc); ...".
    pub fn blockers_words(&self) -> String {
        if self.blockers.is_empty() {
            return "none".into();
        }
        self.blockers
            .iter()
            .map(|b| format!("{} via {} (stub: {})", b.module, b.chain.join(" → "), b.stub))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// "loads with 2 stubs (tracemalloc, other)", or why it does not.
    pub fn outcome(&self) -> String {
        let stubs = match self.stubs.len() {
            1 => "1 stub".to_string(),
            n => format!("{n} stubs"),
        };
        match (self.loads_with_stubs, &self.stopped) {
            (Some(true), _) => format!("loads with {stubs} ({})", self.stubs.join(", ")),
            (_, Some(why)) => format!("does not load with {stubs}: {why}"),
            _ => "not tried".into(),
        }
    }

    /// Every use of the stubs, or that the code asked nothing of them.
    pub fn uses_words(&self) -> String {
        if self.stubs.is_empty() {
            return "–".into();
        }
        if self.stub_uses.is_empty() {
            return "nothing asked while importing".into();
        }
        self.stub_uses
            .iter()
            .map(StubUse::words)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One row of the readiness table: a module tried in a fresh isolated sub-interpreter.
pub struct ReadinessRow<'a> {
    /// The entry point (or a payload's module), with what it belongs to ("render", "page").
    pub module: &'a str,
    pub of: Option<&'a str>,
    /// Whether it loads as it is (None: not tried).
    pub loads: Option<bool>,
    pub beyond: &'a Beyond,
}

/// `analyze`'s rows: each render entry point, then each payload module an isolated
/// sub-interpreter refused.
pub fn analyze_rows<'a>(
    entries: &'a [super::transport::EntryReadiness],
    imports: &'a [super::transport::ImportRow],
) -> Vec<ReadinessRow<'a>> {
    let entry_rows = entries.iter().map(|e| ReadinessRow {
        module: &e.module,
        of: Some("render"),
        loads: e.isolated_ok,
        beyond: &e.beyond,
    });
    let import_rows = imports
        .iter()
        .filter(|i| i.isolated_ok == Some(false))
        .map(|i| ReadinessRow {
            module: &i.module,
            of: Some(i.payload.name()),
            loads: i.isolated_ok,
            beyond: &i.beyond,
        });
    entry_rows.chain(import_rows).collect()
}

/// `scale`'s rows: each module a workload's sub-interpreter workers could not import.
pub fn scale_rows(blocked: &[super::scale::Blocked]) -> Vec<ReadinessRow<'_>> {
    blocked
        .iter()
        .map(|b| ReadinessRow {
            module: &b.module,
            of: b.workload.map(|w| w.as_str()),
            loads: Some(false),
            beyond: &b.beyond,
        })
        .collect()
}

/// The table's header.
pub const READINESS_HEADER: [&str; 5] = [
    "module",
    "loads as is",
    "every blocker (chain, stub)",
    "with the stubs",
    "stub uses",
];

impl ReadinessRow<'_> {
    pub fn cells(&self) -> [String; 5] {
        let module = match self.of {
            Some(of) => format!("{} ({of})", self.module),
            None => self.module.to_string(),
        };
        let loads = match self.loads {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not tried",
        };
        let refused = self.loads == Some(false);
        [
            module,
            loads.into(),
            if refused {
                self.beyond.blockers_words()
            } else {
                "–".into()
            },
            if refused {
                self.beyond.outcome()
            } else {
                "–".into()
            },
            if refused {
                self.beyond.uses_words()
            } else {
                "–".into()
            },
        ]
    }
}

/// The readiness table in Markdown (empty when there are no rows).
pub fn markdown_table(rows: &[ReadinessRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut md = format!("| {} |\n|---|---|---|---|---|\n", READINESS_HEADER.join(" | "));
    for r in rows {
        let cells = r.cells().map(|c| c.replace('|', "\\|"));
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    md
}

/// The readiness table for the terminal, each line after `indent`: one block per module, the
/// modules refused for the same blockers with the same outcome and stub uses in one block (the
/// chain shown is the first one's), so that a generator whose every module fails on one import
/// reads as one finding (empty when there are no rows).
pub fn terminal_lines(rows: &[ReadinessRow], indent: &str) -> String {
    let mut s = String::new();
    let mut said = vec![false; rows.len()];
    for (i, r) in rows.iter().enumerate() {
        if said[i] {
            continue;
        }
        let [_, loads, blockers, with, uses] = r.cells();
        let mut group = vec![r];
        if r.loads == Some(false) {
            for (j, other) in rows.iter().enumerate().skip(i + 1) {
                if !said[j] && other.loads == Some(false) && same_finding(r.beyond, other.beyond) {
                    said[j] = true;
                    group.push(other);
                }
            }
        }
        s.push_str(&format!(
            "{indent}{}: loads in an isolated sub-interpreter: {loads}\n",
            modules_words(&group)
        ));
        if r.loads == Some(false) {
            s.push_str(&format!(
                "{indent}  every blocker: {blockers}\n{indent}  {with}; stub uses: {uses}\n"
            ));
        }
    }
    s
}

/// "entry (render, site), middle (page)": each module once, with what it was checked for.
fn modules_words(group: &[&ReadinessRow]) -> String {
    let mut modules: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in group {
        match modules.iter_mut().find(|(m, _)| *m == r.module) {
            Some((_, ofs)) => ofs.extend(r.of),
            None => modules.push((r.module, r.of.into_iter().collect())),
        }
    }
    modules
        .iter()
        .map(|(m, ofs)| match ofs.is_empty() {
            true => m.to_string(),
            false => format!("{m} ({})", ofs.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same refusing modules behind the same stubs, the same outcome, the same uses.
fn same_finding(a: &Beyond, b: &Beyond) -> bool {
    let refusing = |x: &Beyond| -> Vec<(String, String)> {
        x.blockers
            .iter()
            .map(|b| (b.module.clone(), b.stub.clone()))
            .collect()
    };
    refusing(a) == refusing(b) && a.outcome() == b.outcome() && a.uses_words() == b.uses_words()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_blockers() -> Beyond {
        Beyond {
            blockers: vec![
                Blocker {
                    module: "_tracemalloc".into(),
                    chain: vec![
                        "entry".into(),
                        "middle".into(),
                        "tracemalloc".into(),
                        "_tracemalloc".into(),
                    ],
                    error: "ImportError: no".into(),
                    stub: "tracemalloc".into(),
                },
                Blocker {
                    module: "other".into(),
                    chain: vec!["entry".into(), "other".into()],
                    error: "ImportError: no".into(),
                    stub: "other".into(),
                },
            ],
            stubs: vec!["tracemalloc".into(), "other".into()],
            stub_uses: vec![StubUse {
                name: "tracemalloc.is_tracing".into(),
                gets: 2,
                calls: 1,
            }],
            loads_with_stubs: Some(true),
            stopped: None,
        }
    }

    #[test]
    fn modules_refused_for_the_same_blockers_read_as_one_finding() {
        let beyond = two_blockers();
        let mut alone = two_blockers();
        alone.blockers.pop();
        alone.stubs.pop();
        let rows = [
            ReadinessRow {
                module: "a",
                of: Some("render"),
                loads: Some(false),
                beyond: &beyond,
            },
            ReadinessRow {
                module: "b",
                of: Some("site"),
                loads: Some(false),
                beyond: &alone,
            },
            ReadinessRow {
                module: "c",
                of: Some("page"),
                loads: Some(false),
                beyond: &beyond,
            },
            ReadinessRow {
                module: "a",
                of: Some("site"),
                loads: Some(false),
                beyond: &beyond,
            },
        ];
        let text = terminal_lines(&rows, "");
        let heads: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
        assert_eq!(
            heads,
            [
                "a (render, site), c (page): loads in an isolated sub-interpreter: no",
                "b (site): loads in an isolated sub-interpreter: no"
            ]
        );
        assert_eq!(text.matches("every blocker: ").count(), 2, "{text}");
    }

    #[test]
    fn a_refused_row_names_every_blocker_its_stub_and_the_uses() {
        let beyond = two_blockers();
        let row = ReadinessRow {
            module: "entry",
            of: Some("render"),
            loads: Some(false),
            beyond: &beyond,
        };
        assert_eq!(
            row.cells(),
            [
                "entry (render)".to_string(),
                "no".into(),
                "_tracemalloc via entry → middle → tracemalloc → _tracemalloc (stub: tracemalloc); other via entry → other (stub: other)".into(),
                "loads with 2 stubs (tracemalloc, other)".into(),
                "tracemalloc.is_tracing (read 2×, called 1×)".into(),
            ]
        );
        let md = markdown_table(&[row]);
        assert!(md.starts_with("| module | loads as is |"), "{md}");
        assert_eq!(md.lines().count(), 3);
    }

    #[test]
    fn a_search_that_stopped_says_why_and_a_loading_row_has_no_blockers() {
        let beyond = Beyond {
            loads_with_stubs: Some(false),
            stopped: Some("the limit of 10 stubs was reached".into()),
            stubs: vec!["a".into()],
            ..Beyond::default()
        };
        assert_eq!(
            beyond.outcome(),
            "does not load with 1 stub: the limit of 10 stubs was reached"
        );
        assert_eq!(beyond.uses_words(), "nothing asked while importing");
        let fine = Beyond::default();
        let row = ReadinessRow {
            module: "json",
            of: None,
            loads: Some(true),
            beyond: &fine,
        };
        assert_eq!(row.cells()[2], "–");
        assert_eq!(
            terminal_lines(&[row], "  "),
            "  json: loads in an isolated sub-interpreter: yes\n"
        );
    }
}
