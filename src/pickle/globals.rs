//! Which globals a pickle may name safely: the deny list and its matcher.

/// Globals that give a pickle code execution, file/network/process access or
/// a way to reach those indirectly. An entry is `module.*` (whole module and
/// its submodules), `module.prefix*` (names starting with prefix) or an exact
/// `module.qualname`. Python 2 names (`__builtin__`) are listed alongside the
/// Python 3 ones because CPython maps them at load time for protocols < 3.
pub const UNSAFE_GLOBALS: &[&str] = &[
    "os.*",
    "posix.*",
    "nt.*",
    "posixpath.*",
    "ntpath.*",
    "subprocess.*",
    "pty.*",
    "shutil.*",
    "socket.*",
    "_socket.*",
    "sys.*",
    "importlib.*",
    "runpy.*",
    "code.*",
    "codeop.*",
    "ctypes.*",
    "_ctypes.*",
    "multiprocessing.*",
    "asyncio.*",
    "webbrowser.*",
    "pickle.*",
    "_pickle.*",
    "marshal.*",
    "types.FunctionType",
    "types.LambdaType",
    "types.CodeType",
    "types.ModuleType",
    "types.MethodType",
    "signal.*",
    "tempfile.*",
    "io.open",
    "io.FileIO",
    "_io.open",
    "_io.FileIO",
    "operator.attrgetter",
    "operator.methodcaller",
    "builtins.eval",
    "builtins.exec",
    "builtins.compile",
    "builtins.__import__",
    "builtins.open",
    "builtins.getattr",
    "builtins.setattr",
    "builtins.delattr",
    "builtins.globals",
    "builtins.locals",
    "builtins.vars",
    "builtins.input",
    "builtins.breakpoint",
    "builtins.exit",
    "builtins.quit",
    "__builtin__.eval",
    "__builtin__.exec",
    "__builtin__.execfile",
    "__builtin__.compile",
    "__builtin__.__import__",
    "__builtin__.open",
    "__builtin__.file",
    "__builtin__.getattr",
    "__builtin__.setattr",
    "__builtin__.delattr",
    "__builtin__.globals",
    "__builtin__.locals",
    "__builtin__.vars",
    "__builtin__.input",
    "__builtin__.raw_input",
    "__builtin__.reload",
    "commands.*",
    "popen2.*",
];

/// True if `module.name` matches [`UNSAFE_GLOBALS`].
pub fn is_unsafe_global(module: &str, name: &str) -> bool {
    UNSAFE_GLOBALS.iter().any(|pat| {
        let (pm, pn) = pat.rsplit_once('.').unwrap_or((pat, ""));
        if pn == "*" {
            return module == pm || module.strip_prefix(pm).is_some_and(|rest| rest.starts_with('.'));
        }
        if module != pm {
            return false;
        }
        match pn.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == pn,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_patterns() {
        assert!(is_unsafe_global("os", "system"));
        assert!(is_unsafe_global("os.path", "join"));
        assert!(is_unsafe_global("posix", "system"));
        assert!(is_unsafe_global("builtins", "eval"));
        assert!(is_unsafe_global("__builtin__", "getattr"));
        assert!(!is_unsafe_global("builtins", "set"));
        assert!(!is_unsafe_global("osx", "thing"));
        assert!(!is_unsafe_global("collections", "OrderedDict"));
        assert!(!is_unsafe_global("datetime", "datetime"));
    }
}
