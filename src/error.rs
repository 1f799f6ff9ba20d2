//! Errors the user can act on. Each becomes the tool's single `error:` line.
use std::path::PathBuf;
use thiserror::Error;

#[derive(Error, Debug)]
pub enum UserError {
    #[error("site directory {0} does not exist; pass the directory that holds your site")]
    SiteMissing(PathBuf),
    #[error("{0} is a file, not a directory; pass the site's directory")]
    SiteNotDirectory(PathBuf),
    #[error("--out {out} is inside the site directory {site}; choose a report directory outside it")]
    OutInsideSite { out: PathBuf, site: PathBuf },
    #[error("cannot write the report to --out {path}: {reason}; choose a writable directory")]
    OutUnwritable { path: PathBuf, reason: String },
    #[error("--budget must be a positive number of seconds, got {0}")]
    BadBudget(f64),
    #[error("--transport-budget must be a positive number of seconds, got {0}")]
    BadTransportBudget(f64),
    #[error("{0}")]
    PythonEnv(String),
    #[error("{0}")]
    Load(String),
    #[error("{0}")]
    Fields(String),
    /// `picklecost compare`: an input it cannot read or a limit it cannot parse.
    #[error("{0}")]
    Compare(String),
}
