//! The `podsift` binary: parse arguments, run the command, map the outcome to
//! an exit code. Errors print as `podsift: {err:#}`; a closed pipe (`podsift
//! search x | head -1`) is not an error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

// The default allocator serves candle's large per-op buffers with fresh mmaps
// whose pages the kernel must zero; mimalloc reuses them
// (../shared/docs/PERF-NOTES.md: system time cut about 3x).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if let Some(n) = cli.threads {
        // candle and rayon both read this; it must be set before either starts.
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    match cli::commands::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("podsift: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, `outer: inner: ...`. A cause whose
/// text ends what is printed so far is left out: the library's I/O errors
/// read `path: reason` and also carry the reason as their source, which
/// `{:#}` would print twice ("No space left on device (os error 28): No
/// space left on device (os error 28)").
fn one_line(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.replace(['\n', '\r'], " ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
