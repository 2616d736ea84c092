use clap::Parser;
use clawauth::cli::{run, Cli};
use clawauth::context::Context;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { clawauth::error::exit::USAGE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match run(cli, Context::from_env()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("caused by: {s}");
                src = s.source();
            }
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
