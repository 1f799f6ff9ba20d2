//! The return leg: real rendered pages (what the render-cost probe wrote) sent back from a
//! worker of each transport to this interpreter — what returning a rendered page costs.
use super::pools::Pools;
use super::stream::{self, Clock};
use super::{Availability, TripError, fork, reason_or_stop, streamed};
use crate::model::TransportKind;
use crate::model::stats;
use crate::model::transport::{ResultBack, StreamCost};
use crate::python::{self, Module};
use crate::settings::tuning;
use anyhow::Result;
use pyo3::prelude::*;
use std::time::Duration;

pub const NO_OUTPUT: &str = "the render-cost probe left no rendered page to send back";

/// Real rendered pages (`transports.RenderedPage`: read when sent) and the pickled size of each.
pub struct Rendered<'py> {
    pub outputs: Vec<Bound<'py, PyAny>>,
    /// `len(pickle.dumps(html, protocol))` of each.
    pub bytes: Vec<u64>,
}

impl<'py> Rendered<'py> {
    /// Up to `RESULTS_BACK_PAGES` pages the render-cost probe wrote under `render_dir` (this
    /// run's own directory): each read when a worker is to get it, and once here for its size.
    pub fn read(py: Python<'py>, render_dir: &std::path::Path, protocol: u8) -> Result<Self> {
        let transports_py = python::module(py, Module::Transports)?;
        let (outputs, bytes): (Vec<Bound<'py, PyAny>>, Vec<u64>) = transports_py
            .call_method1(
                "rendered_outputs",
                (
                    render_dir.to_string_lossy().as_ref(),
                    tuning::RESULTS_BACK_PAGES,
                    protocol,
                ),
            )?
            .extract()?;
        Ok(Self { outputs, bytes })
    }

    /// A transport's row: its timings, or why there are none.
    pub fn row(&self, transport: TransportKind, outcome: Result<Vec<u64>, String>) -> ResultBack {
        result_row(transport, self.outputs.len(), &self.bytes, outcome)
    }

    /// A transport's row from its round trips, with (when they went) the stream through the
    /// same workers.
    fn row_then_stream(
        &self,
        transport: TransportKind,
        trips: impl FnOnce() -> Result<Vec<u64>, TripError>,
        stream: impl FnOnce() -> Result<StreamCost, TripError>,
    ) -> Result<ResultBack> {
        Ok(match settled(trips())? {
            Ok(samples) => with_stream(self.row(transport, Ok(samples)), streamed(stream())?),
            Err(why) => self.row(transport, Err(why)),
        })
    }
}

/// The round trips' row with the stream's figures, or why there are none.
fn with_stream(mut row: ResultBack, outcome: Result<StreamCost, String>) -> ResultBack {
    match outcome {
        Ok(cost) => row.stream = Some(cost),
        Err(why) => row.stream_reason = Some(why),
    }
    row
}

pub fn result_row(
    transport: TransportKind,
    outputs: usize,
    result_bytes: &[u64],
    outcome: Result<Vec<u64>, String>,
) -> ResultBack {
    let mut hist = stats::new_histogram();
    let reason = match outcome {
        Ok(samples) => {
            samples.iter().for_each(|&ns| hist.saturating_record(ns.max(1)));
            None
        }
        Err(text) => Some(text),
    };
    ResultBack {
        transport,
        available: reason.is_none(),
        reason,
        results: outputs,
        result_bytes: result_bytes.to_vec(),
        roundtrip_ns: stats::LatencySummary::of(&hist),
        stream: None,
        stream_reason: None,
    }
}

/// A trip's outcome as a row's: a failure is the row's reason, an interruption stops the run.
fn settled(outcome: Result<Vec<u64>, TripError>) -> Result<Result<Vec<u64>, String>> {
    match outcome {
        Ok(samples) => Ok(Ok(samples)),
        Err(e) => reason_or_stop(e).map(Err),
    }
}

/// Every transport but fork: `thread` by reference, the pools pickled (a worker is given the
/// page it sends back, untimed, and keeps one at a time); `per_transport` of the budget each.
pub fn through_pools(
    py: Python<'_>,
    rendered: &Rendered<'_>,
    pools: &Pools,
    availability: &Availability,
    per_transport: Duration,
    threads: usize,
) -> Result<Vec<ResultBack>> {
    let kinds = [
        TransportKind::Thread,
        TransportKind::Subinterpreter,
        TransportKind::SubinterpreterLegacy,
        TransportKind::Process,
        TransportKind::Forkserver,
    ];
    let mut rows = Vec::new();
    for kind in kinds {
        let pool = pools.pool(kind);
        if kind == TransportKind::SubinterpreterLegacy && pool.is_none() {
            continue; // only started for payloads an isolated one cannot take
        }
        if rendered.outputs.is_empty() {
            rows.push(rendered.row(kind, Err(NO_OUTPUT.into())));
            continue;
        }
        let clock = Clock::start(per_transport);
        rows.push(match (kind, pool) {
            (TransportKind::Thread, _) => rendered.row_then_stream(
                kind,
                || by_reference(py, &rendered.outputs),
                || stream::thread_results(py, &rendered.outputs, threads, clock.plan()),
            )?,
            (_, Some(pool)) => rendered.row_then_stream(
                kind,
                || pool.results_back(py, &rendered.outputs, clock.trips_until),
                || stream::results(py, pool, rendered.outputs.len(), clock.plan()),
            )?,
            (_, None) => {
                let why = availability
                    .reason(kind)
                    .filter(|_| !availability.available(kind))
                    .unwrap_or_else(|| "its workers did not start".into());
                rendered.row(kind, Err(why))
            }
        });
    }
    Ok(rows)
}

/// A worker thread hands each page back by reference.
fn by_reference(py: Python<'_>, outputs: &[Bound<'_, PyAny>]) -> Result<Vec<u64>, TripError> {
    let describe = |e: PyErr| TripError::from_py(py, &e);
    let module = python::module(py, Module::Transports).map_err(describe)?;
    let list = pyo3::types::PyList::new(py, outputs).map_err(describe)?;
    module
        .call_method1("measure_thread_results", (list, tuning::TRANSPORT_MIN_ROUNDS))
        .and_then(|r| r.extract::<Vec<u64>>())
        .map_err(describe)
}

/// Children forked over the pages send them back. Only once the pools are closed: a child
/// forked while sub-interpreters run aborts (their state is not fork-safe).
pub fn through_fork(
    py: Python<'_>,
    rendered: &Rendered<'_>,
    workers: usize,
    protocol: u8,
    availability: &Availability,
    share: Duration,
) -> Result<ResultBack> {
    let outcome = if !availability.available(TransportKind::Fork) {
        Err(TripError::Failed(
            availability.reason(TransportKind::Fork).unwrap_or_default(),
        ))
    } else if rendered.outputs.is_empty() {
        Err(TripError::Failed(NO_OUTPUT.into()))
    } else {
        fork::results_back(py, workers, &rendered.outputs, protocol, Clock::start(share))
    };
    Ok(match outcome {
        Ok((samples, stream)) => {
            with_stream(rendered.row(TransportKind::Fork, Ok(samples)), streamed(stream)?)
        }
        Err(e) => rendered.row(TransportKind::Fork, Err(reason_or_stop(e)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_records_every_sample_or_says_why_there_are_none() {
        let bytes = [120, 4_000];
        let row = result_row(TransportKind::Process, 2, &bytes, Ok(vec![1_000, 0, 3_000]));
        assert!(row.available);
        assert_eq!(row.reason, None);
        assert_eq!((row.results, row.result_bytes.clone()), (2, vec![120, 4_000]));
        // A zero-ns sample is recorded as 1 ns: every round trip counts.
        assert_eq!(row.roundtrip_ns.samples, 3);
        let max = stats::new_histogram().highest_equivalent(3_000);
        assert_eq!((row.roundtrip_ns.min, row.roundtrip_ns.max), (1, max));
        let none = result_row(TransportKind::Fork, 0, &[], Err(NO_OUTPUT.into()));
        assert!(!none.available);
        assert_eq!(none.reason.as_deref(), Some(NO_OUTPUT));
        assert_eq!(none.roundtrip_ns.samples, 0);
    }

    #[test]
    fn a_row_carries_its_stream_or_why_it_has_none() {
        let row = || result_row(TransportKind::Process, 1, &[120], Ok(vec![1_000]));
        let cost = StreamCost {
            items: 3,
            planned: 3,
            main_ns: vec![10, 20, 30],
            ..Default::default()
        };
        let streamed = with_stream(row(), Ok(cost.clone()));
        assert_eq!((streamed.stream, streamed.stream_reason), (Some(cost), None));
        let failed = with_stream(row(), Err("TransportError: gone".into()));
        assert_eq!(failed.stream, None);
        assert_eq!(failed.stream_reason.as_deref(), Some("TransportError: gone"));
        assert!(failed.available, "the round trips stand without the stream");
    }

    #[test]
    fn a_failure_becomes_the_reason_and_an_interrupt_stops_the_run() {
        assert_eq!(settled(Ok(vec![5])).unwrap(), Ok(vec![5]));
        assert_eq!(
            settled(Err(TripError::Failed("TransportError: gone".into()))).unwrap(),
            Err("TransportError: gone".to_string())
        );
        let stopped = settled(Err(TripError::Interrupted(python::interrupt::Interrupted {
            signal: 15,
        })));
        let err = stopped.expect_err("an interrupt is not a row");
        assert_eq!(
            err.downcast_ref::<python::interrupt::Interrupted>()
                .unwrap()
                .signal,
            15
        );
    }
}
