//! The brief as Markdown, to paste into an email or a notes app.

use std::fmt::Write as _;

use super::{excerpt, locator, passage_meta, related_meta, related_quote, why_insight};
use super::{BriefMeta, Locator, PASSAGE_CHARS};
use crate::insight::statement::Statement;
use crate::insight::why_related;
use crate::insight::Insight;
use crate::output::safe;
use crate::store::text::StoredChunk;

/// Escape transcript text for Markdown, inside a line: one line (whitespace
/// collapsed), no HTML, no emphasis, links or code spans; `&` only where it
/// would start an entity (`&amp;`), so "AT&T" stays readable as plain text.
fn md(s: &str) -> String {
    // Control characters (ESC, C1 CSI/OSC) would reach the terminal of
    // whoever reads the Markdown.
    let s = safe::line(s);
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(flat.len() + 8);
    for (i, ch) in flat.char_indices() {
        let entity = ch == '&' && {
            let rest = &flat[i + 1..];
            let name = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'));
            name.is_some_and(|n| n > 0 && rest[n..].starts_with(';'))
        };
        if entity || matches!(ch, '\\' | '`' | '*' | '_' | '[' | ']' | '<') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// [`md`] for text that starts a line, where `#`, `>`, `-`, `+`, `=` and
/// `1.`/`1)` would start a block.
fn md_line(s: &str) -> String {
    let mut out = md(s);
    let digits = out.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && out[digits..].starts_with(['.', ')']) {
        out.insert(digits, '\\');
    } else if out.starts_with(['#', '>', '-', '+', '=']) {
        out.insert(0, '\\');
    }
    out
}

/// A URL made safe inside Markdown's `(...)`.
fn md_url(u: &str) -> String {
    u.replace('"', "%22")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

fn md_locator(c: &StoredChunk) -> String {
    match locator(c) {
        Locator::Link { url, label } => format!("[{label}]({})", md_url(&url)),
        Locator::Text(t) => md_line(&t),
    }
}

/// The statement as a bold quote, attributed: `**“…”** — Speaker`, and a
/// blank line; nothing for an empty one.
fn md_statement(s: &Statement) -> String {
    if s.is_empty() {
        return String::new();
    }
    let by = s
        .speaker
        .as_deref()
        .map_or(String::new(), |p| format!(" — {}", md(p)));
    format!("**“{}”**{by}\n\n", md(&s.text))
}

/// The brief as Markdown.
pub fn render_markdown(insights: &[Insight], meta: &BriefMeta) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {} — {}\n", md(&meta.title), md(&meta.date));
    let _ = writeln!(o, "{}\n", md_line(&meta.subtitle(insights.len())));
    if !meta.interests.is_empty() {
        let list: Vec<String> = meta
            .interests
            .iter()
            .map(|i| format!("\"{}\"", md(i)))
            .collect();
        let _ = writeln!(o, "Interests: {}\n", list.join(", "));
    }
    if insights.is_empty() {
        let _ = writeln!(o, "{}", md_line(&meta.nothing_new()));
        return o;
    }
    for ins in insights {
        let c = &ins.chunk;
        let _ = writeln!(o, "---\n\n## {}. {}\n", ins.rank, md(&c.title));
        let _ = write!(o, "{}", md_statement(&ins.statement));
        let mut line = vec![format!("**{}**", md(&c.show))];
        line.extend(passage_meta(c).iter().map(|p| md(p)));
        let _ = writeln!(o, "{}  \n{}\n", line.join(" · "), md_locator(c));
        let _ = writeln!(o, "> {}\n", md_line(&excerpt(&c.text, PASSAGE_CHARS)));
        let _ = writeln!(
            o,
            "*Why this insight:* {}\n",
            md(&why_insight(&ins.signals, &meta.interests))
        );
        if !ins.related.is_empty() {
            let _ = writeln!(o, "**Related**\n");
            for r in &ins.related {
                let rc = &r.chunk;
                let mut line = vec![format!("**{}**", md(&rc.show))];
                line.extend(related_meta(rc).iter().map(|p| md(p)));
                line.push(md_locator(rc));
                let _ = writeln!(
                    o,
                    "- {}\n\n  “{}”\n\n  *Why related:* {}\n",
                    line.join(" · "),
                    md(&related_quote(rc)),
                    md(&why_related(r))
                );
            }
        }
    }
    o.push_str("---\n\n*Made offline by podsift from your index.*\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_markup_in_transcript_text() {
        assert_eq!(
            md("a *b* _c_ [d](e) `f` <g> \\"),
            "a \\*b\\* \\_c\\_ \\[d\\](e) \\`f\\` \\<g> \\\\"
        );
        assert_eq!(md_line("# not a heading"), "\\# not a heading");
        assert_eq!(md_line("> not a quote"), "\\> not a quote");
        assert_eq!(md_line("- not a list"), "\\- not a list");
        assert_eq!(md_line("1. not a list"), "1\\. not a list");
        assert_eq!(md_line("12) not a list"), "12\\) not a list");
        assert_eq!(md_line("2026 was fine. Really."), "2026 was fine. Really.");
        assert_eq!(md("- inside a line -"), "- inside a line -");
        assert_eq!(md("AT&T &amp; &#39; & co"), "AT&T \\&amp; \\&#39; & co");
        assert_eq!(md("line\none"), "line one");
        assert_eq!(md_url("https://x.test/a_(b)"), "https://x.test/a_%28b%29");
    }
}
