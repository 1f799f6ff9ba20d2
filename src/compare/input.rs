//! A run read back from its report directory: results.json and the latency histograms. Both are
//! untrusted input: anything malformed is a `UserError` naming the file, never a panic.
use super::rank::Distribution;
use crate::error::UserError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Larger than any results.json analyze writes (sizes of every page of a huge site included).
const MAX_RESULTS_BYTES: u64 = 512 << 20;
/// An .hgrm file has a few hundred short rows.
const MAX_HGRM_BYTES: u64 = 4 << 20;

pub const OPS: [&str; 3] = ["dumps", "loads", "roundtrip"];
/// The reference object's round trips, written beside a payload's own histograms.
pub const REFERENCE: &str = "reference";

/// One analyze run as compare needs it.
#[derive(Debug, Clone)]
pub struct Run {
    /// What the user named (directory or file), for messages.
    pub label: String,
    pub results: RunResults,
    /// `payload -> op -> distribution` (ops and `reference`); missing where no `.hgrm` file was found.
    pub histograms: BTreeMap<String, BTreeMap<&'static str, Distribution>>,
    /// Histograms that were expected but missing (`histograms/<payload>-<op>.hgrm`).
    pub missing_histograms: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct RunResults {
    pub python: PythonPart,
    pub site: SitePart,
    pub settings: SettingsPart,
    pub payloads: Vec<PayloadPart>,
    pub verdicts: Vec<VerdictPart>,
    pub environment: EnvironmentPart,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct PythonPart {
    pub version: String,
    pub implementation: String,
    pub free_threaded: bool,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct SitePart {
    pub path: String,
    pub generator: String,
    pub generator_version: String,
    pub stage: String,
    pub pages: u64,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct SettingsPart {
    pub protocol: Option<u64>,
    pub gc: Option<String>,
    pub fields: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct EnvironmentPart {
    pub cpu: String,
    pub cpu_count: u64,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct PayloadPart {
    pub name: String,
    #[serde(default)]
    pub picklable: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub objects: u64,
    #[serde(default)]
    pub bytes: Option<BytesPart>,
    #[serde(default)]
    pub dumps_ns: LatencyPart,
    #[serde(default)]
    pub loads_ns: LatencyPart,
    #[serde(default)]
    pub roundtrip_ns: LatencyPart,
    /// The fixed reference object's round trips measured alongside (absent in older runs).
    #[serde(default)]
    pub reference_roundtrip_ns: LatencyPart,
    #[serde(default)]
    pub sizes: Vec<SizePart>,
}

impl PayloadPart {
    pub fn latency(&self, op: &str) -> &LatencyPart {
        match op {
            "dumps" => &self.dumps_ns,
            "loads" => &self.loads_ns,
            REFERENCE => &self.reference_roundtrip_ns,
            _ => &self.roundtrip_ns,
        }
    }
}

#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BytesPart {
    pub min: u64,
    pub median: u64,
    pub p90: u64,
    pub max: u64,
    pub total: u64,
}

#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(default)]
pub struct LatencyPart {
    pub p50: u64,
    pub p99: u64,
    pub samples: u64,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct SizePart {
    pub key: String,
    pub bytes: u64,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct VerdictPart {
    #[serde(default)]
    pub strategy: String,
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    pub transport: String,
    #[serde(default)]
    pub class: String,
}

/// Read a run from a report directory or its results.json.
pub fn read_run(path: &Path) -> Result<Run, UserError> {
    let label = shown(path);
    let bad = |why: String| UserError::Compare(why.replace(['\n', '\r'], " "));
    let meta = std::fs::metadata(path).map_err(|e| {
        bad(format!(
            "{label}: cannot read it ({e}); pass a report directory or its results.json"
        ))
    })?;
    let (file, dir): (PathBuf, PathBuf) = if meta.is_dir() {
        let file = path.join("results.json");
        if !file.is_file() {
            return Err(bad(format!(
                "{label} has no results.json: pass a directory picklecost analyze wrote (--out)"
            )));
        }
        (file, path.to_path_buf())
    } else {
        (
            path.to_path_buf(),
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
        )
    };
    let text = read_capped(&file, MAX_RESULTS_BYTES).map_err(|e| bad(format!("{}: {e}", shown(&file))))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "{} is not a picklecost results.json: not valid JSON ({e})",
            shown(&file)
        ))
    })?;
    let is_results = value
        .get("tool")
        .and_then(|t| t.get("name"))
        .and_then(|n| n.as_str())
        == Some("picklecost")
        && value.get("payloads").is_some_and(|p| p.is_array());
    if !is_results {
        return Err(bad(format!(
            "{} is not a picklecost results.json (no tool.name \"picklecost\" and payloads list)",
            shown(&file)
        )));
    }
    let results: RunResults = serde_json::from_value(value).map_err(|e| {
        bad(format!(
            "{} is not a picklecost results.json it can read: {e}",
            shown(&file)
        ))
    })?;
    let mut histograms = BTreeMap::new();
    let mut missing_histograms = Vec::new();
    for payload in &results.payloads {
        if !safe_name(&payload.name) {
            return Err(bad(format!(
                "{}: payload name {:?} is not one analyze writes",
                shown(&file),
                payload.name
            )));
        }
        let mut ops = BTreeMap::new();
        for op in OPS.into_iter().chain([REFERENCE]) {
            if payload.latency(op).samples == 0 {
                continue;
            }
            let hgrm = dir.join("histograms").join(format!("{}-{op}.hgrm", payload.name));
            if !hgrm.is_file() {
                missing_histograms.push(format!("histograms/{}-{op}.hgrm", payload.name));
                continue;
            }
            let text =
                read_capped(&hgrm, MAX_HGRM_BYTES).map_err(|e| bad(format!("{}: {e}", shown(&hgrm))))?;
            let dist = Distribution::from_hgrm(&text)
                .map_err(|e| bad(format!("{} is not a histogram analyze wrote: {e}", shown(&hgrm))))?;
            ops.insert(op, dist);
        }
        histograms.insert(payload.name.clone(), ops);
    }
    Ok(Run {
        label,
        results,
        histograms,
        missing_histograms,
    })
}

/// Payload names become file names: only what `PayloadKind` spells (lowercase, digits, `_`).
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn read_capped(path: &Path, cap: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open it ({e})"))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it ({e})"))?;
    if bytes.len() as u64 > cap {
        return Err(format!("larger than {} MB, not a file analyze wrote", cap >> 20));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

fn shown(path: &Path) -> String {
    path.display().to_string().replace(['\n', '\r'], " ")
}
