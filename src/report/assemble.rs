//! results.json assembled from what every phase produced. Only plain copying and summarising
//! here: every number was measured by an earlier phase.
use crate::explain::diagnose::PayloadDiagnosis;
use crate::generators::LoadedSite;
use crate::measure::facts::PickleFacts;
use crate::measure::{Measurements, PayloadResult};
use crate::model::PayloadKind;
use crate::model::explain::{FieldComparison, RepairedRaw, Suggestion};
use crate::model::results::*;
use crate::model::stats::{ByteStats, LatencySummary};
use crate::model::transport::VerdictRow;
use crate::settings::{AnalyzeSettings, tuning};
use crate::transport::Outcome;
use std::collections::BTreeMap;

/// Everything a run produced, phase by phase.
pub struct Produced<'a> {
    pub settings: &'a AnalyzeSettings,
    pub python: PythonInfo,
    pub environment: EnvironmentInfo,
    pub site: &'a LoadedSite,
    pub fields: Vec<String>,
    pub measured: &'a Measurements,
    pub facts: Vec<PickleFacts>,
    pub diagnoses: Vec<PayloadDiagnosis>,
    pub suggestion: Option<Suggestion>,
    pub generator_comparison: Option<FieldComparison>,
    pub growth: Option<GrowthJson>,
    pub transported: Option<&'a Outcome>,
    pub verdicts: Vec<VerdictRow>,
    pub notes: Vec<String>,
    pub limits: Vec<crate::model::phase_limit::PhaseLimit>,
    pub check: Option<crate::model::scale::Check>,
    pub traced: crate::generators::readtrace::Traced,
    pub read_comparison: Option<crate::model::readset::ReadComparison>,
}

fn site_info(site: &LoadedSite, settings: &AnalyzeSettings) -> SiteInfo {
    SiteInfo {
        path: settings.load.site_dir.display().to_string(),
        generator: site.generator.clone(),
        generator_version: site.generator_version.clone(),
        stage: site.stage,
        stage_method: site.stage_method.clone(),
        generator_payload: site.generator_payload.clone(),
        extra_root: site.extra_root.clone(),
        pages: site.pages.len(),
        load_seconds: site.load_seconds,
        build_root: site.build_root.clone(),
        build_changed: Vec::new(),
        build_changed_count: 0,
        copy: site.copy.clone(),
    }
}

pub fn results(p: Produced) -> Results {
    let payloads: Vec<PayloadJson> = p
        .measured
        .payloads
        .iter()
        .zip(p.facts)
        .zip(p.diagnoses)
        .map(|((m, facts), diagnosis)| {
            let repaired = diagnosis
                .repaired
                .clone()
                .map(|r| repaired_json(m, p.site, r, p.transported, p.settings));
            let mut json = payload_json(m, p.site, facts, diagnosis);
            json.repaired = repaired;
            json
        })
        .collect();
    let suggestion = p.suggestion.map(|s| SuggestionJson {
        options: s.as_options(),
        measured_median_bytes: payloads
            .iter()
            .find(|q| q.name == PayloadKind::PageSuggested)
            .and_then(|q| q.bytes.as_ref().map(|b| b.median)),
        fields: s.fields,
        exclude_keys: s.exclude_keys,
        median_bytes: s.median_bytes,
        dropped: s.dropped,
        generator_comparison: p.generator_comparison,
    });
    let mut verdict = crate::verdict::comparison(&payloads, &p.fields, suggestion.as_ref(), &p.notes);
    if let Some(g) = &p.growth {
        let projected = crate::verdict::projection(g);
        if !projected.is_empty() {
            verdict.text.push(' ');
            verdict.text.push_str(&projected);
        }
    }
    let mut answer = crate::verdict::answer(&payloads, &p.verdicts);
    if let Some(rests_on) = crate::verdict::rests_on(&p.limits) {
        answer.push(' ');
        answer.push_str(&rests_on);
    }
    let t = p.transported;
    let settings = p.settings;
    Results {
        tool: ToolInfo {
            name: "picklecost",
            version: env!("CARGO_PKG_VERSION"),
        },
        python: p.python,
        site: site_info(p.site, settings),
        settings: SettingsInfo {
            protocol: settings.measure.protocol,
            iterations: settings.measure.iterations,
            sample: settings.measure.sample,
            budget_seconds: settings.measure.budget_seconds,
            gc: settings.measure.gc,
            fields: p.fields,
            exclude_keys: settings.exclude_keys.clone(),
            diagnose: settings.explain.is_some(),
        },
        payloads,
        suggestion,
        answer,
        transports: t.map(transports_json).unwrap_or_default(),
        results_back: t.map(|o| o.results_back.clone()).unwrap_or_default(),
        transport_availability: t.map_or(serde_json::Value::Null, |o| o.availability.clone()),
        imports: t.map(|o| o.imports.clone()).unwrap_or_default(),
        render_entry_points: t.map(|o| o.entry_points.clone()).unwrap_or_default(),
        render_ns: t
            .filter(|o| !o.render_hist.is_empty())
            .map(|o| LatencySummary::of(&o.render_hist)),
        render: t.map(|o| render_json(o, p.site.pages.len())),
        proof_note: proof_note(p.traced.read_set.as_ref()),
        proof: p.traced.read_set.as_ref().and_then(|rs| rs.proof.clone()),
        read_set: p.traced.read_set,
        read_set_note: p.traced.note,
        read_comparison: p.read_comparison,
        verdicts: p.verdicts,
        thresholds: settings.transports.as_ref().map(|t| t.thresholds),
        verdict,
        timing: Timing {
            total_seconds: 0.0,
            load_seconds: p.site.load_seconds,
            measured_seconds: p.measured.payloads.iter().map(|m| m.measured.as_secs_f64()).sum(),
            reference_seconds: p
                .measured
                .payloads
                .iter()
                .map(|m| m.reference_time.as_secs_f64())
                .sum(),
            calibration_seconds: p.measured.calibration.as_secs_f64(),
            calibration_operations_seconds: p.measured.calibration_operations.as_secs_f64(),
            phases: BTreeMap::new(),
        },
        growth: p.growth,
        memory: MemoryInfo {
            largest_payload: p
                .measured
                .payloads
                .iter()
                .flat_map(|m| m.sizes.iter().map(|&(_, b)| b))
                .max(),
            workers: t.map(|o| o.worker_memory.clone()),
            ..Default::default()
        },
        limits: p.limits,
        check: p.check,
        environment: EnvironmentInfo {
            command_line: settings.command_line.clone(),
            ..p.environment
        },
    }
}
/// The render-cost probe's figures: the site's render total (mean x pages) and the sampled pages
/// that weigh most in it.
fn render_json(o: &Outcome, pages: usize) -> RenderJson {
    RenderJson {
        available: o.render.available,
        reason: o.render.reason.clone(),
        total_ns: crate::verdict::strategies::render_total(o, pages),
        dominant: crate::verdict::totals::dominant_pages(
            &o.render.render_ns,
            &o.render.render_pages,
            tuning::DOMINANT_PAGES,
        ),
        pages: o.render.pages,
        sampled: o.render.sampled,
        method: o.render.method.clone(),
        errors: o.render.errors.iter().take(5).cloned().collect(),
        chosen: o.render.chosen.max(o.render.pages),
        cut: o.render.cut.clone(),
        failed: o.render.failed.max(o.render.errors.len() as u64),
    }
}

fn summary(values: &[u64]) -> LatencySummary {
    let mut h = crate::model::stats::new_histogram();
    values.iter().for_each(|&ns| h.saturating_record(ns.max(1)));
    LatencySummary::of(&h)
}

fn repaired_json(
    m: &PayloadResult,
    site: &LoadedSite,
    r: RepairedRaw,
    transported: Option<&Outcome>,
    settings: &AnalyzeSettings,
) -> RepairedJson {
    let roundtrip: Vec<u64> = r.dumps_ns.iter().zip(&r.loads_ns).map(|(d, l)| d + l).collect();
    let roundtrip_ns = summary(&roundtrip);
    let judged = match (transported, &settings.transports) {
        (Some(o), Some(t)) if r.error.is_none() => crate::verdict::strategies::after_repairs(
            m.kind,
            &roundtrip,
            o,
            site.page_keys.len(),
            t.thresholds,
        ),
        _ => None,
    };
    RepairedJson {
        label: "after repairs",
        subject: match m.failures.first() {
            Some(&(i, _)) if m.kind.per_page() => site.page_label(i),
            _ => "site".to_string(),
        },
        bytes: r.bytes,
        dumps_ns: summary(&r.dumps_ns),
        loads_ns: summary(&r.loads_ns),
        roundtrip_ns,
        repairs: r.repairs,
        error: r.error,
        transfer_share: judged.map(|(share, _)| share),
        class: judged.map(|(_, class)| class),
    }
}

fn transports_json(o: &Outcome) -> Vec<TransportJson> {
    o.cells
        .iter()
        .map(|c| TransportJson {
            name: c.transport,
            available: c.available,
            reason: c.reason.clone(),
            payload: c.payload,
            roundtrip_ns: LatencySummary::of(&c.roundtrip),
            stream: c.stream.clone(),
            stream_reason: c.stream_reason.clone(),
            setup_ns: c.setup.as_ref().and_then(|s| s.median_per_worker_ns()),
            setup: c.setup.clone(),
        })
        .collect()
}

fn payload_json(
    p: &PayloadResult,
    site: &LoadedSite,
    facts: PickleFacts,
    diagnosis: PayloadDiagnosis,
) -> PayloadJson {
    let key = |i: usize| match p.kind {
        PayloadKind::Site => "site".to_string(),
        PayloadKind::SiteExtra => "site_extra".to_string(),
        PayloadKind::SiteRead => "site_read".to_string(),
        _ => site.page_keys[i].clone(),
    };
    let virtual_page = |i: usize| p.kind.per_page() && site.page_virtual.get(i) == Some(&true);
    let sizes: Vec<u64> = p.sizes.iter().map(|&(_, b)| b).collect();
    let error = p.failures.first().map(|(_, e)| {
        if p.objects > 1 {
            format!(
                "{e} ({} of {} measured objects failed)",
                p.failures.len(),
                p.sizes.len() + p.failures.len()
            )
        } else {
            e.clone()
        }
    });
    PayloadJson {
        name: p.kind,
        picklable: p.picklable(),
        error,
        count: p.sizes.len(),
        objects: p.objects,
        bytes: ByteStats::of(&sizes),
        dumps_ns: LatencySummary::of(&p.dumps),
        loads_ns: LatencySummary::of(&p.loads),
        roundtrip_ns: LatencySummary::of(&p.roundtrip),
        reference_roundtrip_ns: LatencySummary::of(&p.reference),
        failures_count: p.failures.len(),
        failed_objects: p
            .failures
            .iter()
            .take(50)
            .map(|(i, e)| ObjectError {
                key: key(*i),
                error: e.clone(),
                virtual_page: virtual_page(*i),
            })
            .collect(),
        failure_search: diagnosis.culprits.as_ref().map(|c| FailureSearch {
            visited: c.visited,
            truncated: c.truncated,
            limits: c.limits.clone(),
        }),
        root_causes: diagnosis
            .culprits
            .as_ref()
            .map(|c| c.root_causes.clone())
            .unwrap_or_default(),
        failures: diagnosis.culprits.map(|c| c.failures).unwrap_or_default(),
        repaired: None,
        attribution: diagnosis.attribution,
        drag: diagnosis.drag,
        diagnosis_errors: diagnosis.errors,
        sampled: p.plan.is_sampled(p.objects) || p.cut_by_budget,
        selection: p.selection.clone(),
        iterations: p.plan.iterations,
        measured_seconds: p.measured.as_secs_f64(),
        import_closure: facts.import_closure,
        plain_data: facts.plain_data,
        unsafe_globals: facts.unsafe_globals,
        inspected: facts.inspected,
        plan: PlanJson {
            wall_seconds: p.wall.as_secs_f64(),
            release_seconds: p.releasing.as_secs_f64(),
            round_estimate_seconds: p.round_estimate_seconds,
            share_seconds: p.plan.share_seconds,
            sized: p.plan.sized,
            timed: p.plan.timed,
            cut_by_budget: p.cut_by_budget,
        },
        sizes: p
            .sizes
            .iter()
            .map(|&(i, b)| ObjectSize {
                key: key(i),
                bytes: b,
                virtual_page: virtual_page(i),
            })
            .collect(),
    }
}

/// Why results.json has no proof (None when it has one).
fn proof_note(read_set: Option<&crate::model::readset::ReadSet>) -> Option<String> {
    match read_set {
        None => Some("no read set (read_set_note says why)".into()),
        Some(rs) if rs.proof.is_none() => Some(rs.proof_error.clone().unwrap_or_else(|| {
            "the adapter renders no stand-ins: the read set is reported without a proof".into()
        })),
        Some(_) => None,
    }
}
