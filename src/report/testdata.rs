//! A results document built by hand with every section of report.md present, for the report and
//! terminal-summary tests: every figure is chosen here, so a test derives what the text says.
use crate::model::explain::{Attribution, Drag, TopPath, TypeBytes};
use crate::model::phase_limit::{LimitedPhase, PhaseLimit};
use crate::model::results::*;
use crate::model::transport::{EntryReadiness, ImportRow, ResultBack, StreamCost, VerdictRow};
use crate::model::{GcMode, PayloadKind, Stage, Thresholds, TransportKind, VerdictClass};
use crate::verdict::testdata::{latency, payload, row, suggestion, unpicklable_site};
use std::collections::BTreeMap;

/// A Site that fails to pickle (two culprits, a repair), Pages that drag it (failing too),
/// a subset and a suggestion, with transports, render cost, growth and memory measured.
pub fn results() -> Results {
    let payloads = payloads();
    let suggestion = Some(suggestion(
        payloads
            .iter()
            .find(|p| p.name == PayloadKind::PageSuggested)
            .and_then(|p| p.bytes.as_ref())
            .map(|b| b.median),
    ));
    let verdicts = verdicts();
    let fields = vec!["source_path".to_string(), "metadata".to_string()];
    let notes = vec!["one note".to_string()];
    let verdict = crate::verdict::comparison(&payloads, &fields, suggestion.as_ref(), &notes);
    let answer = crate::verdict::answer(&payloads, &verdicts);
    Results {
        tool: ToolInfo {
            name: "picklecost",
            version: "9.9.9",
        },
        python: python_info(),
        site: SiteInfo {
            path: "sites/blog".into(),
            generator: "bengal".into(),
            generator_version: "0.1.2".into(),
            stage: Stage::Discovered,
            stage_method: "Site.discover_content()".into(),
            generator_payload: Some("a PageView per page".into()),
            extra_root: None,
            pages: 12,
            load_seconds: 0.25,
            build_root: None,
            build_changed: Vec::new(),
            build_changed_count: 0,
            copy: Default::default(),
        },
        settings: SettingsInfo {
            protocol: 5,
            iterations: 1000,
            sample: None,
            budget_seconds: 30.0,
            gc: GcMode::Off,
            fields,
            exclude_keys: BTreeMap::new(),
            diagnose: true,
        },
        payloads,
        suggestion,
        answer,
        transports: transports(),
        results_back: vec![ResultBack {
            transport: TransportKind::Process,
            available: true,
            reason: None,
            results: 3,
            result_bytes: vec![3_000, 1_000, 2_000],
            roundtrip_ns: latency(70_000),
            stream: Some(stream(vec![30_000, 30_000, 36_000], vec![9_000, 9_000, 12_000])),
            stream_reason: None,
        }],
        transport_availability: serde_json::Value::Null,
        imports: vec![ImportRow {
            payload: PayloadKind::Page,
            module: "bengal.core.page".into(),
            isolated_ok: Some(false),
            legacy_ok: Some(true),
            error: Some("ImportError: no isolation".into()),
            beyond: Default::default(),
        }],
        render_entry_points: vec![entry_readiness()],
        render_ns: Some(latency(2_000_000)),
        render: Some(RenderJson {
            available: true,
            reason: None,
            total_ns: Some(24_000_000.0),
            dominant: vec![crate::model::transport::DominantPage {
                page: "tags/index.html (virtual)".into(),
                render_ns: 9_000_000,
                share: 0.375,
            }],
            pages: 12,
            sampled: true,
            method: Some("Page.render()".into()),
            errors: Vec::new(),
            chosen: 12,
            cut: None,
            failed: 0,
        }),
        read_set: None,
        proof: None,
        proof_note: None,
        read_set_note: None,
        read_comparison: None,
        verdicts,
        thresholds: Some(Thresholds::default()),
        verdict,
        timing: Timing {
            total_seconds: 12.5,
            load_seconds: 0.25,
            measured_seconds: 4.5,
            reference_seconds: 0.75,
            calibration_seconds: 0.5,
            calibration_operations_seconds: 0.125,
            phases: BTreeMap::from([("load".to_string(), 0.25), ("measure".to_string(), 5.5)]),
        },
        growth: Some(growth()),
        memory: memory(),
        limits: limits(),
        check: None,
        environment: EnvironmentInfo {
            cpu: "Test CPU".into(),
            cpu_count: 8,
            platform: "Linux-6.1".into(),
            command_line: "picklecost analyze sites/blog".into(),
        },
    }
}

/// A render entry point an isolated sub-interpreter refuses, with the blocker found and what the
/// code asked of its stub.
fn entry_readiness() -> EntryReadiness {
    EntryReadiness {
        module: "bengal.rendering".into(),
        isolated_ok: Some(false),
        chain: vec!["bengal.rendering".into(), "lxml.etree".into()],
        error: Some("module does not support sub-interpreters".into()),
        hint: Some("use processes".into()),
        beyond: crate::model::readiness::Beyond {
            blockers: vec![crate::model::readiness::Blocker {
                module: "lxml.etree".into(),
                chain: vec!["bengal.rendering".into(), "lxml.etree".into()],
                error: "module does not support sub-interpreters".into(),
                stub: "lxml.etree".into(),
            }],
            stubs: vec!["lxml.etree".into()],
            stub_uses: vec![crate::model::readiness::StubUse {
                name: "lxml.etree.fromstring".into(),
                gets: 3,
                calls: 2,
            }],
            loads_with_stubs: Some(true),
            stopped: None,
        },
    }
}

/// The tool's memory, and the transport workers it let start (all that were asked).
fn memory() -> MemoryInfo {
    MemoryInfo {
        rss_before_load: Some(40_000_000),
        loaded_site: Some(25_000_000),
        largest_payload: Some(900_000),
        phase_peaks: BTreeMap::from([("measure".to_string(), 90_000_000)]),
        peak: Some(90_000_000),
        workers: Some(crate::memory::WorkerMemory::plan(
            4,
            2,
            Some(25_000_000),
            Some(8_000_000_000),
            None,
        )),
    }
}

/// The render-cost probe within its limit.
fn limits() -> Vec<PhaseLimit> {
    vec![PhaseLimit {
        phase: LimitedPhase::Render,
        limit_seconds: 300.0,
        seconds: 1.5,
        cut: false,
        done: 12,
        planned: 12,
        unit: "pages rendered".into(),
        note: None,
    }]
}

fn payloads() -> Vec<PayloadJson> {
    let mut site = unpicklable_site();
    site.attribution = Some(Attribution {
        subject: "the Site".into(),
        total_bytes: 810_000,
        pickle_bytes: 800_000,
        top_paths: vec![TopPath {
            path: "site.pages".into(),
            type_name: "list".into(),
            inclusive_bytes: 700_000,
            exclusive_bytes: 1_200,
        }],
        by_type: vec![TypeBytes {
            type_name: "str".into(),
            bytes: 500_000,
            count: 3_000,
        }],
        shared_bytes: 64_000,
        tree: None,
    });
    site.import_closure = vec!["bengal.core.site.Site".into(), "pathlib.PosixPath".into()];
    site.plain_data = Some(false);
    site.unsafe_globals = vec!["os.system".into()];

    let mut page = payload(PayloadKind::Page, 12, 600_000, 7_000_000);
    page.picklable = false;
    page.failures_count = 2;
    page.error = Some("TypeError: cannot pickle '_io.TextIOWrapper' object".into());
    page.failed_objects = vec![crate::model::results::ObjectError {
        key: "content/post-3.md".into(),
        error: "cannot pickle 'TextIOWrapper' instances".into(),
        virtual_page: false,
    }];
    page.drag = vec![
        Drag {
            path: "page._site".into(),
            bytes: Some(550_000),
            reaches: "site".into(),
            parent: None,
            alone_bytes: Some(580_000),
        },
        Drag {
            path: "page.next".into(),
            bytes: None,
            reaches: "page".into(),
            parent: None,
            alone_bytes: None,
        },
    ];
    page.sizes = (0..10)
        .map(|k| ObjectSize {
            // The largest is a generated tag page (no file of its own).
            key: if k == 9 {
                ".bengal/generated/tags/python/index.md".into()
            } else {
                format!("content/post-{k}.md")
            },
            bytes: 590_000 + k * 1_000,
            virtual_page: k == 9,
        })
        .collect();
    page.diagnosis_errors = vec!["walking page.cache timed out".into()];

    let subset = payload(PayloadKind::PageSubset, 12, 1_500, 20_000);
    let suggested = payload(PayloadKind::PageSuggested, 12, 1_200, 15_000);
    let generator = payload(PayloadKind::PageGenerator, 12, 2_500, 30_000);
    vec![site, page, subset, suggested, generator]
}

fn verdicts() -> Vec<VerdictRow> {
    use PayloadKind::*;
    use TransportKind::*;
    vec![
        row(Site, Process, None, VerdictClass::Impractical),
        row(Site, Fork, Some(0.004), VerdictClass::Practical),
        row(Page, Process, None, VerdictClass::Impractical),
        row(PageSubset, Subinterpreter, Some(0.12), VerdictClass::Marginal),
        row(PageSubset, Process, Some(0.031), VerdictClass::Practical),
    ]
}

/// The Python the run describes; its default start method is `spawn` (the `process` rows).
fn python_info() -> PythonInfo {
    PythonInfo {
        version: "3.13.0".into(),
        implementation: "CPython".into(),
        build: "main, Oct 7 2024".into(),
        free_threaded: false,
        gil_enabled: true,
        executable: "/venv/bin/python".into(),
        prefix: "/venv".into(),
        base_prefix: "/usr".into(),
        environment_found_by: "--python".into(),
        default_start_method: Some("spawn".into()),
    }
}

/// A stream of `main_ns.len()` items through 2 workers, 4 requests in flight each.
fn stream(main_ns: Vec<u64>, worker_ns: Vec<u64>) -> StreamCost {
    let items = main_ns.len() as u64;
    StreamCost {
        in_flight: 4,
        workers: 2,
        items,
        planned: items,
        wall_ns_per_item: main_ns.iter().sum::<u64>() as f64 / items as f64 * 1.5,
        bytes: vec![2_000; worker_ns.len()],
        main_ns,
        worker_ns,
    }
}

fn transports() -> Vec<TransportJson> {
    let json = |name, payload, p50: Option<u64>, reason: Option<&str>| TransportJson {
        name,
        available: p50.is_some(),
        reason: reason.map(str::to_string),
        payload,
        roundtrip_ns: p50.map(latency).unwrap_or_default(),
        // Per item in a busy pool: a quarter of the idle round trip in the main interpreter,
        // a tenth in the worker (none by reference).
        stream: p50.map(|ns| match name {
            TransportKind::Thread => stream(vec![ns / 4; 4], Vec::new()),
            _ => stream(vec![ns / 4; 4], vec![ns / 10; 4]),
        }),
        stream_reason: None,
        setup_ns: p50.map(|_| 90_000_000),
        setup: None,
    };
    vec![
        json(TransportKind::Thread, PayloadKind::PageSubset, Some(2_000), None),
        json(
            TransportKind::Process,
            PayloadKind::PageSubset,
            Some(60_000),
            None,
        ),
        json(
            TransportKind::Process,
            PayloadKind::Site,
            None,
            Some("not picklable | RLock"),
        ),
    ]
}

fn growth() -> GrowthJson {
    let point = |pages, bytes, rt: Option<u64>| GrowthPoint {
        pages,
        payload: PayloadKind::PageSubset,
        bytes,
        dumps_ns: rt.map(|r| r / 2),
        loads_ns: rt.map(|r| r / 2),
        roundtrip_ns: rt,
    };
    GrowthJson {
        factors: vec![1.0, 2.0],
        llc_bytes: Some(32 << 20),
        copies: vec![GrowthCopy {
            factor: 1.0,
            pages: 12,
            load_ns: 40_000_000,
            reason: CopyReason::Ladder,
            seconds: 0.5,
        }],
        points: vec![point(12, Some(1_500), Some(20_000)), point(24, Some(1_600), None)],
        fits: vec![GrowthFit {
            payload: Some(PayloadKind::PageSubset),
            quantity: GrowthQuantity::Bytes,
            intercept: 1_400.0,
            slope_per_page: 8.25,
            r2: 0.987,
            exponent: Some(1.45),
            upper_exponent: Some(1.45),
            bends: true,
            model: Some(GrowthModel::Power),
            fitted_from_pages: 12,
            step_up: None,
            holdout: None,
        }],
        projections: vec![GrowthProjection {
            pages: 10_000,
            payload: Some(PayloadKind::PageSubset),
            quantity: GrowthQuantity::Bytes,
            extrapolation: 416.7,
            supported: false,
            value: None,
            low: None,
            high: None,
            fit_low: None,
            fit_high: None,
        }],
        max_extrapolation: 10.0,
        errors: vec!["the 4x copy failed to load".into()],
    }
}
