//! What the pickle streams themselves say a receiver needs, read without Python (and without
//! copying them) as the measuring loop makes them.
use crate::pickle;

#[derive(Debug, Clone, Default)]
pub struct PickleFacts {
    pub import_closure: Vec<String>,
    pub plain_data: Option<bool>,
    pub unsafe_globals: Vec<String>,
    pub inspected: usize,
}

/// What one pickle stream says: the globals it references, whether it is plain data.
pub struct PickleRead {
    pub globals: Vec<String>,
    pub plain: bool,
    pub bytes: usize,
}

pub fn read(data: &[u8]) -> PickleRead {
    PickleRead {
        globals: pickle::globals_of(data),
        plain: pickle::is_plain_data(data),
        bytes: data.len(),
    }
}

/// Every global a payload's pickles reference, and whether they are all plain data.
pub fn summarize(reads: Vec<PickleRead>) -> PickleFacts {
    let mut closure: Vec<String> = reads.iter().flat_map(|r| r.globals.iter().cloned()).collect();
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
        plain_data: (!reads.is_empty()).then(|| reads.iter().all(|r| r.plain)),
        import_closure: closure,
        unsafe_globals,
        inspected: reads.len(),
    }
}
