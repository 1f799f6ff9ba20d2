//! Find the Python environment the site runs in and check it matches the embedded libpython,
//! before any Python starts (a mismatched stdlib would crash at import time, not explain itself).
//! Inside a Python that is already running (the wheel), that Python's environment is the one.
use crate::error::UserError;
use pyo3::prelude::*;
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
    if super::interp::hosted() {
        return running(explicit);
    }
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

/// Inside a running Python (the wheel), the environment is the one that launched the tool: no
/// search and no version check. `--python` or `$VIRTUAL_ENV` naming another environment runs
/// picklecost there when it is installed there, else is an error that says how to install it.
fn running(explicit: Option<&Path>) -> Result<PythonEnv, UserError> {
    let env = Python::attach(|py| -> PyResult<PythonEnv> {
        let sys = py.import("sys")?;
        let info = sys.getattr("version_info")?;
        let (major, minor): (u32, u32) = (
            info.getattr("major")?.extract()?,
            info.getattr("minor")?.extract()?,
        );
        Ok(PythonEnv {
            executable: sys.getattr("executable")?.extract()?,
            root: sys.getattr("prefix")?.extract()?,
            version: format!("{major}.{minor}"),
            source: "the running interpreter",
        })
    })
    .map_err(|e| UserError::PythonEnv(format!("cannot read the running Python's sys: {e}")))?;
    let named = match explicit {
        Some(python) => Some(("--python", python.to_path_buf())),
        None => std::env::var_os("VIRTUAL_ENV")
            .filter(|v| !v.is_empty())
            .map(|venv| ("$VIRTUAL_ENV", PathBuf::from(venv).join("bin/python"))),
    };
    match named {
        Some((source, python)) if !same_environment(&env, &python) => {
            Err(super::elsewhere::run_there(source, &python, &env.executable))
        }
        _ => Ok(env),
    }
}

/// `python` belongs to the running environment: its environment's root (the directory with
/// pyvenv.cfg beside `python` or one level up, else the directory above `bin`) is `sys.prefix`.
/// Paths are compared canonical, but `python` itself is not resolved: a venv's `bin/python` is a
/// symlink to its base interpreter, which is another environment.
fn same_environment(env: &PythonEnv, python: &Path) -> bool {
    let python = absolute(python);
    let Some(bin) = python.parent() else {
        return false;
    };
    let root = [bin, bin.parent().unwrap_or(bin)]
        .into_iter()
        .find(|dir| dir.join("pyvenv.cfg").is_file())
        .unwrap_or(bin.parent().unwrap_or(bin));
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    canonical(root).is_some() && canonical(root) == canonical(&env.root)
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

    /// A venv's `bin/python` is its own environment although it links to the base interpreter;
    /// an interpreter of another venv, or a base interpreter, is not.
    #[test]
    fn an_interpreter_belongs_to_the_environment_of_its_pyvenv_cfg() {
        let dir = std::env::temp_dir().join(format!("picklecost-same-env-{}", std::process::id()));
        let (venv, other) = (dir.join("venv"), dir.join("other"));
        for root in [&venv, &other] {
            std::fs::create_dir_all(root.join("bin")).unwrap();
            std::fs::write(root.join("pyvenv.cfg"), "version = 3.13.0\n").unwrap();
        }
        let base = dir.join("base/bin/python3");
        std::fs::create_dir_all(base.parent().unwrap()).unwrap();
        std::fs::write(&base, "").unwrap();
        std::os::unix::fs::symlink(&base, venv.join("bin/python")).unwrap();
        std::os::unix::fs::symlink(&base, other.join("bin/python")).unwrap();
        let env = PythonEnv {
            executable: venv.join("bin/python"),
            root: venv.clone(),
            version: "3.13".into(),
            source: "the running interpreter",
        };
        assert!(same_environment(&env, &venv.join("bin/python")));
        assert!(!same_environment(&env, &other.join("bin/python")));
        assert!(!same_environment(&env, &base));
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
