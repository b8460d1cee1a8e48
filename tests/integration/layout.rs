//! The house's layout, checked on the source (issue 15): the full-text
//! engine is named only inside `src/store/`, the top-level modules of
//! the library import each other without cycles, no source file is over
//! [`MAX_FILE_LINES`] lines and no production function over
//! [`MAX_FN_LINES`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a source file under `src/` may be, tests included.
const MAX_FILE_LINES: usize = 1200;

/// The longest a function outside `#[cfg(test)]` items may be, from its
/// `fn` line to its closing brace.
const MAX_FN_LINES: usize = 150;

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
                if !to.is_empty() && to != from {
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

#[test]
fn no_source_file_is_over_the_line_limit() {
    let root = src();
    let mut files = Vec::new();
    sources(&root, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_production_function_is_over_the_line_limit() {
    let root = src();
    let mut files = Vec::new();
    sources(&root, &mut files);
    let test_files = test_module_files(&files);
    let mut long = Vec::new();
    for f in &files {
        if test_files.contains(f) {
            continue;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(f).unwrap();
        for (name, line, n) in long_functions(&blank_strings_and_comments(&text), MAX_FN_LINES) {
            long.push(format!("src/{rel}:{line}: {name} is {n} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "production functions over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_function_scanner_sees_through_strings_comments_and_tests() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '}';\n    // }\n    /* } */\n    let r = r#\"}\"#;\n    x::<'static>();\n}\n#[cfg(test)]\nmod tests {\n    fn b() {\n\n\n    }\n}\npub(crate) fn c() {\n}\n";
    let clean = blank_strings_and_comments(text);
    assert_eq!(clean.lines().count(), text.lines().count());
    assert_eq!(long_functions(&clean, 2), [("a".to_string(), 1, 8)]);
    assert!(long_functions(&clean, 8).is_empty());
}

/// Files that hold a module declared `#[cfg(test)] mod name;`.
fn test_module_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        // A module file's children sit beside it; another file's in a folder named after it.
        let stem = f.file_stem().unwrap().to_string_lossy();
        let dir = match stem.as_ref() {
            "mod" | "lib" | "main" => f.parent().unwrap().to_path_buf(),
            _ => f.with_extension(""),
        };
        for pair in lines.windows(2) {
            if pair[0] != "#[cfg(test)]" {
                continue;
            }
            let decl = pair[1]
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ");
            if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
                out.insert(dir.join(format!("{name}.rs")));
                out.insert(dir.join(name).join("mod.rs"));
            }
        }
    }
    out
}

/// `text` with the insides of comments, strings and character literals
/// replaced by spaces (line breaks kept), so braces in them do not count.
/// Enough for this code base, not a Rust lexer: lifetimes are told from
/// character literals by the closing quote.
fn blank_strings_and_comments(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let ident_before = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r' && !ident_before && matches!(c.get(i + 1), Some('"' | '#')) {
            // A raw string: r"…", r#"…"#, …
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.push_str("r\"");
            i = j + 1;
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push('"');
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            // '\n', '\'', '\u{7d}': up to the closing quote.
            out.push_str("' ");
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
                out.push(' ');
            }
            out.push('\'');
            i += 1;
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The name, 1-based first line and length in lines of each function in
/// `clean` (see [`blank_strings_and_comments`]) longer than `max` lines,
/// skipping items marked `#[cfg(test)]`. A nested function counts as part
/// of the function around it.
fn long_functions(clean: &str, max: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = clean.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("#[cfg(test)]") {
            i = item_end(&lines, i + 1) + 1;
            continue;
        }
        let Some(name) = fn_name(line) else {
            i += 1;
            continue;
        };
        let end = item_end(&lines, i);
        let n = end - i + 1;
        if n > max {
            out.push((name, i + 1, n));
        }
        i = end + 1;
    }
    out
}

/// The name of the function whose `fn` line `line` is, if it is one.
fn fn_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    loop {
        match words.next()? {
            "fn" => break,
            w if w == "pub"
                || w.starts_with("pub(")
                || ["const", "async", "unsafe", "extern", "\"\""].contains(&w) => {}
            _ => return None,
        }
    }
    let name: String = words
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The last line of the item that starts at line `start`: where its first
/// brace closes, or where it ends with `;` before opening one.
fn item_end(lines: &[&str], start: usize) -> usize {
    let (mut depth, mut parens) = (0i64, 0i64);
    let mut opened = false;
    for (j, line) in lines.iter().enumerate().skip(start) {
        for ch in line.chars() {
            match ch {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                // `[u8; 4]` in a signature is not the end of a declaration.
                '(' | '[' => parens += 1,
                ')' | ']' => parens -= 1,
                ';' if !opened && depth == 0 && parens == 0 => return j,
                _ => {}
            }
            if opened && depth == 0 {
                return j;
            }
        }
    }
    lines.len().saturating_sub(1)
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
