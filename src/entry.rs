//! The command line's one dispatch and its one exit-code map, shared by both front doors: the
//! standalone binary (`main.rs`, which embeds Python) and the wheel's native module
//! (`picklecost._native.main`, run inside the Python that imported it).
use crate::cli::{Cli, Command};
use crate::settings::{AnalyzeSettings, CompareSettings, InspectSettings, ScaleSettings};
use crate::{commands, error, python};
use clap::Parser;
use std::ffi::OsString;
use std::path::Path;

/// How a run ended, and the one place that maps it to an exit code.
enum Outcome {
    /// Everything done (inspect: every stream parsed).
    Done,
    /// inspect: some streams did not parse; the rest were still reported. compare: a
    /// `--fail-if` limit was exceeded.
    Partial,
    /// analyze: any error, one `error:` line.
    Failed(anyhow::Error),
    /// inspect, compare: bad usage or input, one `error:` line.
    Usage(anyhow::Error),
    /// analyze, scale: SIGINT or SIGTERM, one `error:` line, 128 + the signal.
    Interrupted(python::interrupt::Interrupted),
}

impl Outcome {
    fn code(&self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::Partial | Outcome::Failed(_) => 1,
            Outcome::Usage(_) => 2,
            Outcome::Interrupted(interrupted) => interrupted.exit_code(),
        }
    }
}

/// Run the command line `args` (the program name first) and return its exit status: the
/// standalone binary's `main` and the wheel's `picklecost._native.main` both call this, so they
/// share every line; only how Python starts differs (`python::interp::start`).
pub fn run_cli<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version print to stdout and exit 0; a usage error prints clap's
            // message and exits 2, as `Cli::parse` would (without ending a hosting Python).
            let _ = err.print();
            return err.exit_code().clamp(0, 255) as u8;
        }
    };
    let outcome = match cli.command {
        Command::Inspect(args) => match commands::inspect::run(&InspectSettings::from_args(args)) {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::Partial,
            Err(err) => Outcome::Usage(err),
        },
        Command::Compare(args) => match CompareSettings::from_args(args)
            .map_err(anyhow::Error::from)
            .and_then(|s| commands::compare::run(&s))
        {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::Partial,
            Err(err) => Outcome::Usage(err),
        },
        Command::Analyze(args) => {
            python::interrupt::guard();
            remove_if_cut_short(&args.out);
            let result = AnalyzeSettings::from_args(args)
                .map_err(anyhow::Error::from)
                .and_then(commands::analyze::run);
            python::interp::flush();
            finished(result)
        }
        Command::Scale(args) => {
            python::interrupt::guard();
            remove_if_cut_short(&args.out);
            let result = ScaleSettings::from_args(args)
                .map_err(anyhow::Error::from)
                .and_then(commands::scale::run);
            python::interp::flush();
            finished(result)
        }
    };
    if !python::interrupt::claim_exit() {
        // The interrupt watchdog is cutting the run short: it prints the line and exits.
        loop {
            std::thread::park();
        }
    }
    match &outcome {
        Outcome::Failed(err) | Outcome::Usage(err) => eprintln!("error: {}", one_line(err)),
        Outcome::Interrupted(interrupted) => eprintln!("error: {interrupted}"),
        Outcome::Done | Outcome::Partial => {}
    }
    outcome.code()
}

/// What of the report directory a run cut short by the interrupt watchdog must not leave: the
/// directory itself when this run creates it, else the staging directory `OutDir::write_files`
/// makes in it.
fn remove_if_cut_short(out: &Path) {
    let made = match out.exists() {
        false => out.to_path_buf(),
        true => out.join(format!(".picklecost-staging-{}", std::process::id())),
    };
    python::interrupt::remove_if_cut_short(&made);
}

/// How analyze and scale ended: an interrupt anywhere in the chain is the interrupt, and so is
/// any failure after a signal came (the step the signal cut short may fail another way).
fn finished(result: anyhow::Result<()>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(_) if python::interrupt::pending() => Outcome::Interrupted(python::interrupt::current()),
        Err(err) => match err.downcast::<python::interrupt::Interrupted>() {
            Ok(interrupted) => Outcome::Interrupted(interrupted),
            Err(err) => Outcome::Failed(err),
        },
    }
}

/// A user error is its own message; anything else is shown with its chain of context.
fn one_line(err: &anyhow::Error) -> String {
    if let Some(user) = err.downcast_ref::<error::UserError>() {
        return user.to_string();
    }
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}
