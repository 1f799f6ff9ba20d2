//! The time limit each phase after loading keeps to, and how much the phase did within it:
//! plain data for results.json, report.md and the terminal.
use serde::{Deserialize, Serialize};

/// A phase with a time limit of its own (the measuring phase plans to its `--budget`, the
/// transports to `--transport-budget`; these stop where their limit has passed).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LimitedPhase {
    /// The render-cost probe, the generator's preparation of the pages included.
    Render,
    /// The explanations: the suggested payload, culprits, byte attribution, drag.
    Diagnose,
    /// `--growth`: the copies of the site, each made, loaded and measured.
    Growth,
    /// `picklecost scale`: the renderer's preparation and every run.
    Scale,
    /// `analyze`'s short real parallel run that checks the predicted speed-ups.
    Check,
}

impl LimitedPhase {
    /// The option that sets the limit.
    pub fn flag(self) -> &'static str {
        match self {
            LimitedPhase::Render => "--render-limit",
            LimitedPhase::Diagnose => "--diagnose-limit",
            LimitedPhase::Growth => "--growth-limit",
            LimitedPhase::Scale => "--scale-limit",
            LimitedPhase::Check => "--check-limit",
        }
    }

    /// The phase in the words of a sentence.
    pub fn words(self) -> &'static str {
        match self {
            LimitedPhase::Render => "render-cost probe",
            LimitedPhase::Diagnose => "explanations",
            LimitedPhase::Growth => "growth copies",
            LimitedPhase::Scale => "scale runs",
            LimitedPhase::Check => "real parallel check",
        }
    }
}

/// One phase against its limit.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PhaseLimit {
    pub phase: LimitedPhase,
    pub limit_seconds: f64,
    /// What the phase took (a page or step running when the limit passed finishes first).
    pub seconds: f64,
    /// Whether the limit cut the phase short.
    pub cut: bool,
    /// How much was done, counted in `unit`...
    pub done: u64,
    /// ...of how much was planned.
    pub planned: u64,
    /// What is counted, plural ("pages rendered", "steps", "copies measured").
    pub unit: String,
    /// Where the limit stopped it, or what it left out (None when it did not cut).
    pub note: Option<String>,
}

impl PhaseLimit {
    /// "render-cost probe: 12 of 60 pages rendered within its 120 s limit (--render-limit);
    /// cut while rendering".
    pub fn sentence(&self) -> String {
        let mut s = format!(
            "{}: {} of {} {} in {:.1} s, {} its {} s limit ({})",
            self.phase.words(),
            self.done,
            self.planned,
            self.unit,
            self.seconds,
            if self.cut { "cut by" } else { "within" },
            trim_seconds(self.limit_seconds),
            self.phase.flag(),
        );
        if let Some(note) = self.note.as_deref().filter(|_| self.cut) {
            s.push_str(&format!("; {note}"));
        }
        s
    }
}

/// 120.0 as "120", 0.5 as "0.5", 0.0001 as "0.0001".
fn trim_seconds(seconds: f64) -> String {
    format!("{seconds}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(cut: bool) -> PhaseLimit {
        PhaseLimit {
            phase: LimitedPhase::Render,
            limit_seconds: 120.0,
            seconds: 121.25,
            cut,
            done: 12,
            planned: 60,
            unit: "pages rendered".into(),
            note: Some("stopped while rendering".into()),
        }
    }

    #[test]
    fn a_cut_phase_says_how_much_it_did_and_where_it_stopped() {
        assert_eq!(
            limit(true).sentence(),
            "render-cost probe: 12 of 60 pages rendered in 121.2 s, cut by its 120 s limit \
             (--render-limit); stopped while rendering"
        );
        assert_eq!(
            limit(false).sentence(),
            "render-cost probe: 12 of 60 pages rendered in 121.2 s, within its 120 s limit \
             (--render-limit)"
        );
    }

    #[test]
    fn phases_serialize_as_the_names_results_json_uses() {
        let json = serde_json::to_value(limit(true)).unwrap();
        assert_eq!(json["phase"], "render");
        assert_eq!(json["cut"], true);
        assert_eq!(serde_json::to_value(LimitedPhase::Growth).unwrap(), "growth");
        assert_eq!(trim_seconds(0.5), "0.5");
        assert_eq!(trim_seconds(600.0), "600");
        assert_eq!(trim_seconds(0.0001), "0.0001");
    }
}
