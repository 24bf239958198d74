//! The `filedeck` binary: everything lives in the library (`filedeck::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = filedeck::cli::parse();
    filedeck::cli::main(cli)
}
