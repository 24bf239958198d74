use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = filedeck::cli::Cli::parse();
    filedeck::cli::main(cli)
}
