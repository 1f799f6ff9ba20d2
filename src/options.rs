//! Settings validated from the command line: every check that needs no Python happens here.
use crate::cli::{AnalyzeArgs, GcMode, Stage};
use crate::error::UserError;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    pub site_dir: PathBuf,
    pub out_dir: PathBuf,
    pub stage: Stage,
    pub loader: Option<String>,
    pub python: Option<PathBuf>,
    pub protocol: u8,
    pub fields: Option<Vec<String>>,
    /// field -> keys to drop from it
    pub exclude_keys: std::collections::BTreeMap<String, Vec<String>>,
    pub diagnose: bool,
    /// None: transports and render cost are skipped.
    pub transports: Option<crate::transport::Settings>,
    pub limits: crate::explain::Limits,
    pub iterations: u32,
    pub sample: Option<u64>,
    pub budget_seconds: f64,
    pub gc: GcMode,
    pub quiet: bool,
    pub command_line: String,
}

impl AnalyzeOptions {
    pub fn from_args(args: AnalyzeArgs) -> Result<Self, UserError> {
        let site_dir = std::path::absolute(&args.site_dir).unwrap_or(args.site_dir.clone());
        if !site_dir.exists() {
            return Err(UserError::SiteMissing(args.site_dir));
        }
        if !site_dir.is_dir() {
            return Err(UserError::SiteNotDirectory(args.site_dir));
        }
        let site_dir = site_dir.canonicalize().unwrap_or(site_dir);
        let out_dir = std::path::absolute(&args.out).unwrap_or(args.out.clone());
        if resolve_existing_prefix(&out_dir).starts_with(&site_dir) {
            return Err(UserError::OutInsideSite {
                out: args.out,
                site: site_dir,
            });
        }
        if !(args.budget.is_finite() && args.budget > 0.0) {
            return Err(UserError::BadBudget(args.budget));
        }
        let fields: Option<Vec<String>> = args.fields.map(|fields| {
            fields
                .into_iter()
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect()
        });
        if matches!(&fields, Some(f) if f.is_empty()) {
            return Err(UserError::Fields(
                "--fields is empty: name at least one page attribute".into(),
            ));
        }
        let mut exclude_keys = std::collections::BTreeMap::<String, Vec<String>>::new();
        for item in args.exclude_keys.unwrap_or_default() {
            let Some((field, key)) = item
                .split_once(':')
                .filter(|(f, k)| !f.trim().is_empty() && !k.is_empty())
            else {
                return Err(UserError::Fields(format!(
                    "--exclude-keys wants FIELD:KEY items, got {item:?}"
                )));
            };
            exclude_keys
                .entry(field.trim().to_string())
                .or_default()
                .push(key.to_string());
        }
        if let Some(fields) = &fields
            && let Some(field) = exclude_keys.keys().find(|f| !fields.contains(f))
        {
            return Err(UserError::Fields(format!(
                "--exclude-keys names {field:?}, which is not one of --fields"
            )));
        }
        if !(args.transport_budget.is_finite() && args.transport_budget > 0.0) {
            return Err(UserError::BadBudget(args.transport_budget));
        }
        if !(0.0 < args.practical && args.practical <= args.marginal) {
            return Err(UserError::Fields(format!(
                "--practical ({}) must be above 0 and at most --marginal ({})",
                args.practical, args.marginal
            )));
        }
        let workers = args
            .workers
            .map(|w| w as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let transports = (!args.no_transports).then_some(crate::transport::Settings {
            workers,
            budget_seconds: args.transport_budget,
            protocol: args.protocol,
            thresholds: crate::transport::strategy::Thresholds {
                practical: args.practical,
                marginal: args.marginal,
            },
        });
        Ok(Self {
            transports,
            exclude_keys,
            diagnose: !args.no_diagnose,
            limits: crate::explain::Limits {
                max_depth: args.max_depth,
                max_visits: args.max_visits,
            },
            site_dir,
            out_dir,
            stage: args.stage,
            loader: args.loader,
            python: args.python,
            protocol: args.protocol,
            fields,
            iterations: args.iterations,
            sample: args.sample,
            budget_seconds: args.budget,
            gc: args.gc,
            quiet: args.quiet,
            command_line: command_line(),
        })
    }
}

/// Canonicalise the longest existing prefix of a path that may not exist yet, so a symlinked
/// or `..`-laden --out cannot sneak into the site directory.
fn resolve_existing_prefix(path: &Path) -> PathBuf {
    let mut existing = lexically_normal(path);
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|n| n.to_owned()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn command_line() -> String {
    std::env::args()
        .map(|arg| {
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c))
            {
                arg
            } else {
                format!("'{}'", arg.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_resolution_sees_through_dotdot() {
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        let weird = tmp.join("does-not-exist-a").join("..").join("b");
        assert_eq!(resolve_existing_prefix(&weird), tmp.join("b"));
    }
}
