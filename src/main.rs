use clap::Parser;
use picklecost::{analyze, cli, error, options, python};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let outcome = match cli.command {
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
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ").replace('\n', " ")
}
