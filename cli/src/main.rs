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
            // `--json` means JSON for every outcome, a command line clap refuses included
            if code != output::exit::OK && std::env::args_os().any(|a| a == "--json") {
                output::print_json_error("usage", &e.kind().to_string(), &e.render().to_string(), &[], None, code);
            }
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let story = matches!(cli.command, args::Command::Demo { .. }).then_some(commands::DEMO_WIDTH);
    style::init(cli.global.color, story);
    let json = cli.global.json;
    let code = match commands::run(cli, Context::from_env()) {
        Ok(code) => code,
        Err(e) => {
            let code = output::print_error(&e);
            if json {
                output::error_json(&e, code);
            }
            code
        }
    };
    std::process::exit(code);
}
