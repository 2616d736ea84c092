//! The `clawauth` binary: parse the command line, run the command, print the error (if any)
//! and exit with its code.

mod args;
mod commands;
mod output;
mod preview;
mod prompt;
mod style;

use clap::Parser;
use clawauth_core::context::Context;

fn main() {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { output::exit::USAGE } else { output::exit::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let story = matches!(cli.command, args::Command::Demo { .. }).then_some(commands::DEMO_WIDTH);
    style::init(cli.global.color, story);
    let code = match commands::run(cli, Context::from_env()) {
        Ok(code) => code,
        Err(e) => output::print_error(&e),
    };
    std::process::exit(code);
}
