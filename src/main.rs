//! The `mobietrain-scim` binary: parses the command line and runs it; an error is printed as one
//! line an operator can act on (`error: …`), and the exit status is 1.

use clap::Parser;

fn main() -> std::process::ExitCode {
    match mobietrain_scim::cli::run(mobietrain_scim::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", mobietrain_scim::cli::human::message(&err));
            std::process::ExitCode::FAILURE
        }
    }
}
