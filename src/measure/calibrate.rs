//! Untimed warm-up rounds that give each payload's costs, from which the budget is planned.
use super::pickler::Pickler;
use super::plan::PayloadCost;
use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// What a payload's warm-up rounds said.
pub(super) struct Calibration {
    pub(super) cost: PayloadCost,
    /// The dumps and loads calls the warm-up made (timed, not recorded as samples).
    pub(super) operations: Duration,
}

/// Costs from untimed warm-up rounds over the probes: at least one per probe and at least
/// 5 ms in all (at most 200 rounds), so that a microsecond payload is not judged by its first,
/// cold call. A round of a millisecond payload is warm after its first call: more rounds would
/// only add to the phase.
pub(super) fn calibrate<'py>(
    pickler: &Pickler<'py>,
    probes: &[usize],
    objects: usize,
    object: impl Fn(usize) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Calibration> {
    const MIN_TIME: Duration = Duration::from_millis(5);
    const MAX_ROUNDS: usize = 200;
    let mut operations = Duration::ZERO;
    let mut cost = PayloadCost {
        objects,
        dumps_seconds: 0.0,
        round_seconds: 0.0,
    };
    if probes.is_empty() {
        return Ok(Calibration { cost, operations });
    }
    // The dumps call's time, adding every timed call to `operations`. A payload that does not
    // pickle is not warmed past its probes: its failures are timed as they come.
    let failed = std::cell::Cell::new(false);
    let mut round = |i: usize| -> PyResult<Duration> {
        let obj = object(i)?;
        let started = Instant::now();
        if let Ok(sized) = pickler.dumps(&obj) {
            let dumps = sized.dumps;
            operations += dumps + pickler.loads(&sized).unwrap_or_default();
            return Ok(dumps);
        }
        if pickler.interrupted.get() {
            // A signal stops the warm-up here: the next probe's dumps could block again.
            return Err(pyo3::exceptions::PyKeyboardInterrupt::new_err("interrupted"));
        }
        failed.set(true);
        Ok(started.elapsed())
    };
    // The very first round pays for imports and caches; it is not a fair estimate.
    round(probes[0])?;
    let started = Instant::now();
    let mut dumps = Duration::ZERO;
    let mut rounds = 0;
    while rounds < probes.len() || (!failed.get() && started.elapsed() < MIN_TIME && rounds < MAX_ROUNDS) {
        dumps += round(probes[rounds % probes.len()])?;
        rounds += 1;
    }
    let n = rounds as f64;
    cost.dumps_seconds = dumps.as_secs_f64() / n;
    cost.round_seconds = started.elapsed().as_secs_f64() / n;
    Ok(Calibration { cost, operations })
}
