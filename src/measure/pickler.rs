//! The timed calls: one `pickle.dumps`, one `pickle.loads`, and releasing the copies they
//! made outside the timed region.
use crate::python;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// The Python callables one round needs, looked up once.
pub(super) struct Pickler<'py> {
    py: Python<'py>,
    dumps: Bound<'py, PyAny>,
    loads: Bound<'py, PyAny>,
    collect: Bound<'py, PyAny>,
    get_count: Bound<'py, PyAny>,
    protocol: u8,
    /// Wall time spent releasing unpickled copies: harness overhead, reported as such.
    pub(super) releasing: Cell<Duration>,
    /// Pickled bytes unpickled since the last collection.
    unpickled: Cell<u64>,
    /// A dumps or loads was interrupted (`python::interrupt`): the loop stops at the next object.
    pub(super) interrupted: Cell<bool>,
}

/// Collect once this many container objects await it: often enough that memory stays flat,
/// rarely enough that collecting tiny payloads' garbage does not cost more than pickling them.
const COLLECT_AFTER_OBJECTS: i64 = 20_000;
/// ... or once this many pickled bytes were unpickled since the last collection. A large copy
/// is freed while its memory is still in cache and the next `loads` reuses that memory: with
/// a 440 KB showcase Page (it drags its Site), freeing every copy at once cost less than
/// letting two pile up, and the measuring phase's peak halved.
const COLLECT_AFTER_BYTES: u64 = 256 << 10;

/// One timed `pickle.dumps`: the pickle, its size, and a dumps sample.
pub(super) struct Pickled<'py> {
    pub(super) pickled: Bound<'py, PyAny>,
    pub(super) bytes: u64,
    pub(super) dumps: Duration,
}

impl<'py> Pickler<'py> {
    pub(super) fn new(py: Python<'py>, protocol: u8) -> PyResult<Self> {
        let pickle = py.import("pickle")?;
        let gc = py.import("gc")?;
        Ok(Pickler {
            py,
            dumps: pickle.getattr("dumps")?,
            loads: pickle.getattr("loads")?,
            collect: gc.getattr("collect")?,
            get_count: gc.getattr("get_count")?,
            protocol,
            releasing: Cell::new(Duration::ZERO),
            unpickled: Cell::new(0),
            interrupted: Cell::new(false),
        })
    }

    /// A Ctrl-C that Python turned into KeyboardInterrupt must stop the run, not be recorded
    /// as one more object that failed to pickle.
    fn describe(&self, err: &PyErr) -> String {
        if python::interrupt::interrupted(self.py, err).is_some() {
            self.interrupted.set(true);
        }
        python::describe_error(self.py, err)
    }

    #[inline]
    pub(super) fn dumps(&self, obj: &Bound<'py, PyAny>) -> Result<Pickled<'py>, String> {
        let started = Instant::now();
        let pickled = self.dumps.call1((obj, self.protocol));
        let dumps = started.elapsed();
        let pickled = pickled.map_err(|e| self.describe(&e))?;
        let bytes = pickled
            .cast::<PyBytes>()
            .map(|b| b.as_bytes().len() as u64)
            .map_err(|_| "pickle.dumps did not return bytes".to_string())?;
        Ok(Pickled {
            pickled,
            bytes,
            dumps,
        })
    }

    /// One timed `pickle.loads` of what `dumps` made; the copy is released and collected
    /// outside the timed region so memory does not grow from round to round.
    #[inline]
    pub(super) fn loads(&self, sized: &Pickled<'py>) -> Result<Duration, String> {
        let started = Instant::now();
        let copy = self.loads.call1((&sized.pickled,));
        let loads = started.elapsed();
        let releasing = Instant::now();
        self.unpickled.set(self.unpickled.get() + sized.bytes);
        // Matched by value: the copy is released here, before the collection below, which
        // would otherwise walk it and keep it to a later, older-generation collection.
        let result = match copy {
            Ok(copy) => {
                drop(copy);
                Ok(loads)
            }
            Err(e) => Err(format!("pickles, but loads fails: {}", self.describe(&e))),
        };
        self.release_garbage();
        self.releasing.set(self.releasing.get() + releasing.elapsed());
        result
    }

    /// One timed dumps+loads of the reference object, or None if it failed (it never should).
    pub(super) fn reference_round(&self, reference: &Bound<'py, PyAny>) -> Option<Duration> {
        let sized = self.dumps(reference).ok()?;
        self.loads(&sized).ok().map(|loads| sized.dumps + loads)
    }

    fn release_garbage(&self) {
        let pending = self
            .get_count
            .call0()
            .and_then(|c| c.get_item(0))
            .and_then(|c| c.extract::<i64>())
            .unwrap_or(i64::MAX);
        if pending >= COLLECT_AFTER_OBJECTS || self.unpickled.get() >= COLLECT_AFTER_BYTES {
            // The two young generations hold every copy (the GC is off and copies are released
            // before this): a full collection would also empty the interpreter's free lists,
            // which the next `loads` would then refill, unlike a worker's usual young collections.
            // (On 3.14's incremental collector, 1 is the young generation and an old increment.)
            let _ = self.collect.call1((1,));
            self.unpickled.set(0);
        }
    }

    /// Everything a payload's rounds left, down to the oldest generation (reported as releasing).
    pub(super) fn collect_all(&self) {
        let started = Instant::now();
        let _ = self.collect.call0();
        self.unpickled.set(0);
        self.releasing.set(self.releasing.get() + started.elapsed());
    }
}
