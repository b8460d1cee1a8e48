//! `podsift generate`: the completion scripts and the man page come from
//! the real command line, so they name the commands `--help` lists.

use crate::util::{stdout_ok, Model, TestDir};

/// The visible subcommands, read from `podsift --help` ("Commands:" lines
/// are `  NAME  about`; wrapped abouts are indented deeper), less clap's
/// own `help`.
fn subcommands(t: &TestDir) -> Vec<String> {
    let help = stdout_ok(t.command(Model::None).arg("--help"));
    let mut names = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line == "Commands:" {
            inside = true;
        } else if inside && line.is_empty() {
            break;
        } else if inside && line.starts_with("  ") && !line.starts_with("   ") {
            names.push(line.split_whitespace().next().unwrap().to_string());
        }
    }
    names.retain(|n| n != "help");
    // The list is the real one, not an empty parse of changed help text.
    for known in [
        "index", "search", "show", "stats", "related", "mcp", "generate",
    ] {
        assert!(names.iter().any(|n| n == known), "{known} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n == "synth"), "hidden: {names:?}");
    names
}

#[test]
fn bash_completion_offers_the_subcommands() {
    let t = TestDir::new();
    let names = subcommands(&t);
    let bash = stdout_ok(t.command(Model::None).args(["generate", "complete-bash"]));
    assert!(bash.contains("complete -F _podsift"), "{bash}");
    // The top level's case (`podsift)`) sets `opts` to its flags and
    // subcommands.
    let lines: Vec<&str> = bash.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == "podsift)")
        .expect("a case for the top level");
    let top = lines[at..]
        .iter()
        .find(|l| l.trim_start().starts_with("opts=\""))
        .expect("an opts= line");
    let words: Vec<&str> = top
        .trim()
        .trim_start_matches("opts=\"")
        .trim_end_matches('"')
        .split_whitespace()
        .collect();
    for name in &names {
        assert!(words.contains(&name.as_str()), "{name} not in {top}");
    }
    assert!(words.contains(&"--index"), "{top}");
    for shell in ["complete-zsh", "complete-fish", "complete-powershell"] {
        let script = stdout_ok(t.command(Model::None).args(["generate", shell]));
        assert!(script.contains("search"), "{shell}: {script}");
    }
}

#[test]
fn man_page_is_roff_naming_the_subcommands() {
    let t = TestDir::new();
    let names = subcommands(&t);
    let man = stdout_ok(t.command(Model::None).args(["generate", "man"]));
    let lines: Vec<&str> = man.lines().collect();
    let title = lines
        .iter()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH title");
    assert!(title.starts_with(".TH podsift 1"), "{title}");
    // Every control line is a request or man(7) macro groff knows.
    const KNOWN: &[&str] = &[
        "ie", "el", "ds", "TH", "SH", "SS", "TP", "IP", "PP", "LP", "P", "RS", "RE", "B", "I",
        "BR", "BI", "IB", "IR", "RB", "RI", "br", "sp", "nf", "fi", "EX", "EE", "in", "ti",
    ];
    for line in &lines {
        if let Some(rest) = line.strip_prefix('.').or_else(|| line.strip_prefix('\'')) {
            let name = rest.split_whitespace().next().unwrap_or("");
            assert!(KNOWN.contains(&name), "unknown roff request: {line}");
        }
    }
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(lines.contains(&section), "no {section}:\n{man}");
    }
    let name_line = lines[lines.iter().position(|l| *l == ".SH NAME").unwrap() + 1];
    assert!(name_line.starts_with("podsift \\- "), "{name_line}");
    // Roff writes `-` as `\-`: each command is an entry `podsift\-NAME(1)`.
    for name in &names {
        let entry = format!("podsift\\-{}(1)", name.replace('-', "\\-"));
        assert!(man.contains(&entry), "{entry} not in the man page:\n{man}");
    }
    assert!(man.contains("\\-\\-index"), "the global flags are in it");
}
