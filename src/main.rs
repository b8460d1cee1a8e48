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
    std::panic::set_hook(Box::new(report_panic));
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
            // Paths, feed titles and server messages come from outside.
            eprintln!("podsift: {}", podsift::output::safe::line(&one_line(&err)));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, `outer: inner: ...`. A cause whose
/// text ends what is printed so far is left out: the library's I/O errors
/// read `path: reason` and also carry the reason as their source, which
/// `{:#}` would print twice ("No space left on device (os error 28): No
/// space left on device (os error 28)").
///
/// A context that ends with a path the next cause names again ("opening
/// index P: index at P: ...") is left out too.
fn one_line(err: &anyhow::Error) -> String {
    let texts: Vec<String> = err.chain().map(cli::advice::describe).collect();
    let mut out = String::new();
    for (i, text) in texts.iter().enumerate() {
        if out.ends_with(text.as_str()) {
            continue;
        }
        let last_word = text.rsplit(' ').next().unwrap_or("");
        if last_word.contains(std::path::MAIN_SEPARATOR)
            && texts
                .get(i + 1)
                .is_some_and(|next| next.contains(last_word))
        {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    out.replace(['\n', '\r'], " ")
}

/// A panic is a bug in podsift: say so on one line, without control
/// characters (its message may quote a file or a server), and keep the word
/// "panicked" for whoever greps for it. `RUST_BACKTRACE=1` adds the
/// backtrace, as the default hook does. A panic that a feed scan catches
/// (`podsift::feed::scan::scan_feed`) is reported here and then as that
/// feed's failure.
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    eprintln!(
        "podsift: internal error (panicked{at}: {}); this is a bug, please report it",
        podsift::output::safe::line(&message)
    );
    let trace = std::backtrace::Backtrace::capture();
    if trace.status() == std::backtrace::BacktraceStatus::Captured {
        eprintln!("{trace}");
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_leaves_out_a_context_that_the_cause_repeats() {
        let inner = anyhow::anyhow!("index at /tmp/ix: state file is missing; fix: rebuild");
        let err = inner.context("opening index /tmp/ix");
        assert_eq!(
            one_line(&err),
            "index at /tmp/ix: state file is missing; fix: rebuild"
        );
        let err = anyhow::anyhow!("bad\nvalue").context("reading /tmp/a");
        assert_eq!(one_line(&err), "reading /tmp/a: bad value");
    }
}
