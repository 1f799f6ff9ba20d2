//! What the pickle streams themselves say a receiver needs, read in parallel without Python.
use super::PayloadResult;
use crate::pickle;
use rayon::prelude::*;

pub struct PickleFacts {
    pub import_closure: Vec<String>,
    pub plain_data: Option<bool>,
    pub unsafe_globals: Vec<String>,
    pub inspected: usize,
}

/// Every global each payload's retained pickles reference, and whether they are plain data.
pub fn inspect(payloads: &[PayloadResult]) -> Vec<PickleFacts> {
    payloads
        .iter()
        .map(|p| {
            let per_pickle: Vec<(Vec<String>, bool)> = p
                .retained
                .par_iter()
                .map(|data| (pickle::globals_of(data), pickle::is_plain_data(data)))
                .collect();
            let mut closure: Vec<String> = per_pickle.iter().flat_map(|(g, _)| g.iter().cloned()).collect();
            closure.sort();
            closure.dedup();
            let unsafe_globals = closure
                .iter()
                .filter(|g| {
                    g.rsplit_once('.')
                        .is_some_and(|(m, n)| pickle::is_unsafe_global(m, n))
                })
                .cloned()
                .collect();
            PickleFacts {
                plain_data: (!per_pickle.is_empty()).then(|| per_pickle.iter().all(|(_, plain)| *plain)),
                import_closure: closure,
                unsafe_globals,
                inspected: per_pickle.len(),
            }
        })
        .collect()
}
