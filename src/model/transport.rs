//! What the transports and the render-cost probe measured, and the per-strategy verdict rows.
use super::{PayloadKind, TransportKind, VerdictClass};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Setup {
    /// Per worker: creating the interpreter or spawning the process, and importing the modules
    /// the payloads need inside it.
    pub create: Vec<u64>,
    pub import: Vec<u64>,
}

impl Setup {
    /// Create + import, in ns, for every worker together.
    pub fn total_ns(&self) -> u64 {
        self.create.iter().sum::<u64>() + self.import.iter().sum::<u64>()
    }

    /// Median over the workers of create + import (nearest rank, lower middle).
    pub fn median_per_worker_ns(&self) -> Option<u64> {
        let mut per: Vec<u64> = self.create.iter().zip(&self.import).map(|(a, b)| a + b).collect();
        per.sort_unstable();
        per.get(per.len().saturating_sub(1) / 2).copied()
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct ImportRow {
    pub payload: PayloadKind,
    pub module: String,
    pub isolated_ok: Option<bool>,
    pub legacy_ok: Option<bool>,
    pub error: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct VerdictRow {
    pub strategy: String,
    pub payload: PayloadKind,
    pub transport: TransportKind,
    pub workers: usize,
    /// Transfer time for the whole site as a share of its render time (None: not shippable).
    pub transfer_share: Option<f64>,
    /// One-time set-up of W workers (create + import) as a share of the render time.
    pub setup_share: Option<f64>,
    pub class: VerdictClass,
    pub why: String,
}

/// The generator's render cost per page, as its adapter measured it.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Render {
    pub available: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub render_ns: Vec<u64>,
    #[serde(default)]
    pub pages: u64,
    #[serde(default)]
    pub sampled: bool,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}
