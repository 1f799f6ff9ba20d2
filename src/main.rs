use clap::Parser;
use picklecost::{analyze, cli, error, inspect, options, python};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if let cli::Command::Inspect(args) = &cli.command {
        let settings = inspect::InspectSettings {
            paths: args.paths.clone(),
            json: args.json,
            top: args.top,
            dump: args.dump,
        };
        // 0: every stream parsed; 1: some did not (the rest are still reported); 2: usage.
        return match inspect::run(&settings) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(err) => {
                eprintln!("error: {}", one_line(&err));
                ExitCode::from(2)
            }
        };
    }
    let outcome = match cli.command {
        cli::Command::Inspect(_) => unreachable!("handled above"),
        cli::Command::Analyze(args) => options::AnalyzeOptions::from_args(args)
            .map_err(anyhow::Error::from)
            .and_then(analyze::run),
    };
    python::interp::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(1)
        }
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
