//! The `mobietrain-scim` binary: parses the command line and runs it.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    mobietrain_scim::cli::run(mobietrain_scim::cli::Cli::parse())
}
