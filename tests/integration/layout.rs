//! The house's layout, checked on the source (issue 15): the full-text
//! engine is named only inside `src/store/`, and the top-level modules of
//! the library import each other without cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Imports between top-level modules that still close a cycle, each to be
/// removed (issue 15): the error type wraps the mail error, and the mail
/// settings are parsed with the brief profile's helpers.
const KNOWN_CYCLE_EDGES: &[(&str, &str)] = &[("error", "mail"), ("mail", "insight")];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The lines of `path` that are code, not comments.
fn code_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(str::to_string)
        .collect()
}

#[test]
fn only_the_store_names_the_full_text_engine() {
    let root = src();
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut found = Vec::new();
    for f in files {
        if f.starts_with(root.join("store")) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Code, not prose: a comment may say whose formula a function follows.
            let code = line.split("//").next().unwrap_or("");
            if code.contains("tantivy") {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "outside src/store/:\n{}",
        found.join("\n")
    );
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let root = src();
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap();
        let first = rel.components().next().unwrap().as_os_str();
        let from = first.to_string_lossy().trim_end_matches(".rs").to_string();
        if ["lib", "main", "cli"].contains(&from.as_str()) {
            continue;
        }
        for line in code_lines(f) {
            for (i, _) in line.match_indices("crate::") {
                let to: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !to.is_empty()
                    && to != from
                    && !KNOWN_CYCLE_EDGES.contains(&(from.as_str(), to.as_str()))
                {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    // A module that reaches itself is in a cycle.
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start.as_str(), vec![start.as_str()])];
        while let Some((m, path)) = stack.pop() {
            for next in edges.get(m).into_iter().flatten() {
                if next == start {
                    let mut p = path.clone();
                    p.push(next);
                    cycles.push(p.join(" -> "));
                } else if seen.insert(next.as_str()) {
                    let mut p = path.clone();
                    p.push(next);
                    stack.push((next.as_str(), p));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

/// The library's messages name no flag of the binary: an error carries what
/// the fix needs and `src/cli/advice.rs` words it (issue 15). A cargo
/// command line (how to build podsift) names cargo's flags, not ours.
#[test]
fn the_library_names_no_flag_of_the_binary() {
    let root = src();
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut found = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap();
        if rel.starts_with("cli") || rel == Path::new("main.rs") || rel.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        // Production code only: unit tests may name what the binary prints.
        let production = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in production.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("--") {
                let before = code[..i].chars().last();
                let after = code[i + 2..].chars().next();
                if matches!(before, Some(' ' | '"' | '`'))
                    && after.is_some_and(|c| c.is_ascii_lowercase())
                    && !code.contains("cargo build")
                {
                    found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "flags named in the library:\n{}",
        found.join("\n")
    );
}
