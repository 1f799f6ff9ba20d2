//! Link against the interpreter named by PYO3_PYTHON and remember its version, so the binary
//! finds that libpython at run time (rpath) and can refuse a venv of another version up front.
//! The wheel (feature `wheel`, no `standalone`) is an extension module: it links no libpython.
fn main() {
    if std::env::var_os("CARGO_FEATURE_STANDALONE").is_some() {
        pyo3_build_config::add_libpython_rpath_link_args();
    }
    let config = pyo3_build_config::get();
    let version = config.version();
    println!(
        "cargo:rustc-env=PICKLECOST_PY_VERSION={}.{}",
        version.major, version.minor
    );
    let exe = config.executable().map(|e| e.to_string()).unwrap_or_default();
    println!("cargo:rustc-env=PICKLECOST_PY_EXECUTABLE={exe}");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
