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

/// glibc's threshold for serving an allocation by its own mapping rises, by default, to the
/// size of the largest such block freed (up to 32 MiB): after a 4 MiB read buffer is freed,
/// the blocks of a few MiB that carry 100k session summaries from one thread to another come
/// from the heap, and freeing them gives nothing back. A fixed 1 MiB threshold keeps large
/// blocks mapped, so each is returned the moment it is freed and the peak stays near one copy
/// of the summaries.
fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() {
    fix_mmap_threshold();
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
