//! Find the Python environment the site runs in and check it matches the embedded libpython,
//! before any Python starts (a mismatched stdlib would crash at import time, not explain itself).
use crate::error::UserError;
use std::path::{Path, PathBuf};

/// The libpython this binary is linked against, recorded by build.rs.
pub const EMBEDDED_VERSION: &str = env!("PICKLECOST_PY_VERSION");
const EMBEDDED_EXECUTABLE: &str = env!("PICKLECOST_PY_EXECUTABLE");

#[derive(Debug, Clone)]
pub struct PythonEnv {
    /// The venv's interpreter: becomes sys.executable.
    pub executable: PathBuf,
    pub root: PathBuf,
    /// major.minor from pyvenv.cfg
    pub version: String,
    /// How it was found, for the report.
    pub source: &'static str,
}

pub fn find(explicit: Option<&Path>, site_dir: &Path) -> Result<PythonEnv, UserError> {
    let env = if let Some(python) = explicit {
        from_interpreter(python, "--python")?
    } else if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        from_root(Path::new(&venv), "$VIRTUAL_ENV")?
    } else {
        let found = site_dir
            .ancestors()
            .map(|dir| dir.join(".venv"))
            .find(|venv| venv.join("pyvenv.cfg").is_file());
        match found {
            Some(venv) => from_root(&venv, ".venv")?,
            None => {
                return Err(UserError::PythonEnv(format!(
                    "no Python environment found: pass --python PATH/TO/venv/bin/python, activate a \
                     virtual environment, or create .venv in {} or a parent (Python {EMBEDDED_VERSION} \
                     with your generator installed)",
                    site_dir.display()
                )));
            }
        }
    };
    check_version(&env)?;
    Ok(env)
}

fn from_interpreter(python: &Path, source: &'static str) -> Result<PythonEnv, UserError> {
    if !python.is_file() {
        return Err(UserError::PythonEnv(format!(
            "--python {} does not exist; pass the python of a virtual environment (e.g. .venv/bin/python)",
            python.display()
        )));
    }
    // Keep the venv's own path (bin/python is usually a symlink to the base interpreter, and
    // resolving it would lose the venv).
    let python = absolute(python);
    let bin = python.parent().unwrap_or(Path::new("/"));
    let root = [bin, bin.parent().unwrap_or(bin)]
        .into_iter()
        .find(|dir| dir.join("pyvenv.cfg").is_file())
        .ok_or_else(|| {
            UserError::PythonEnv(format!(
                "--python {} is not inside a virtual environment (no pyvenv.cfg beside it or one \
                 level up); create one with `python{EMBEDDED_VERSION} -m venv .venv` and install \
                 your generator in it",
                python.display()
            ))
        })?;
    Ok(PythonEnv {
        version: read_version(&root.join("pyvenv.cfg"))?,
        root: root.to_path_buf(),
        executable: python,
        source,
    })
}

fn from_root(root: &Path, source: &'static str) -> Result<PythonEnv, UserError> {
    let root = absolute(root);
    let cfg = root.join("pyvenv.cfg");
    if !cfg.is_file() {
        return Err(UserError::PythonEnv(format!(
            "{source} points to {}, which is not a virtual environment (no pyvenv.cfg)",
            root.display()
        )));
    }
    let executable = ["bin/python", "bin/python3", "Scripts/python.exe"]
        .iter()
        .map(|rel| root.join(rel))
        .find(|p| p.is_file())
        .ok_or_else(|| UserError::PythonEnv(format!("no python interpreter in {}/bin", root.display())))?;
    Ok(PythonEnv {
        version: read_version(&cfg)?,
        root,
        executable,
        source,
    })
}

/// major.minor from `version = 3.13.0` (venv) or `version_info = 3.13.0.final.0` (uv).
fn read_version(cfg: &Path) -> Result<String, UserError> {
    let text = std::fs::read_to_string(cfg)
        .map_err(|e| UserError::PythonEnv(format!("cannot read {}: {e}", cfg.display())))?;
    let version = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| matches!(key.trim(), "version" | "version_info"))
        .map(|(_, value)| value.trim().to_string())
        .ok_or_else(|| UserError::PythonEnv(format!("{} names no Python version", cfg.display())))?;
    Ok(major_minor(&version))
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn check_version(env: &PythonEnv) -> Result<(), UserError> {
    if env.version == EMBEDDED_VERSION {
        return Ok(());
    }
    Err(UserError::PythonEnv(format!(
        "the Python environment {} is Python {}, but this picklecost embeds Python \
         {EMBEDDED_VERSION} ({EMBEDDED_EXECUTABLE}); rebuild it against that environment: \
         `PYO3_PYTHON={} cargo build --release`",
        env.root.display(),
        env.version,
        env.executable.display()
    )))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_venv_and_uv_versions() {
        let dir = std::env::temp_dir().join(format!("picklecost-env-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("pyvenv.cfg");
        std::fs::write(&cfg, "home = /usr/bin\nversion = 3.13.0\n").unwrap();
        assert_eq!(read_version(&cfg).unwrap(), "3.13");
        std::fs::write(
            &cfg,
            "home = /x\nimplementation = CPython\nversion_info = 3.12.4.final.0\n",
        )
        .unwrap();
        assert_eq!(read_version(&cfg).unwrap(), "3.12");
        std::fs::write(&cfg, "home = /x\n").unwrap();
        assert!(read_version(&cfg).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
