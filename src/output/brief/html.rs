//! The brief as one self-contained HTML page.

use std::fmt::Write as _;

use super::css::CSS;
use super::{excerpt, locator, passage_meta, related_meta, related_quote, why_insight};
use super::{BriefMeta, Locator};
use crate::insight::statement::Statement;
use crate::insight::why_related;
use crate::insight::Insight;
use crate::output::safe;
use crate::store::text::StoredChunk;

/// Escape for HTML text and attribute values.
fn h(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(ch),
            c if safe::is_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn html_locator(c: &StoredChunk) -> String {
    match locator(c) {
        Locator::Link { url, label } => {
            format!(
                "<a href=\"{}\" rel=\"noopener\" target=\"_blank\">▶&nbsp;{}</a>",
                h(&url),
                h(&label)
            )
        }
        Locator::Text(t) => format!("<span class=\"src\">{}</span>", h(&t)),
    }
}
/// The statement as a paragraph, attributed; nothing for an empty one.
fn html_statement(s: &Statement) -> String {
    if s.is_empty() {
        return String::new();
    }
    let by = s.speaker.as_deref().map_or(String::new(), |p| {
        format!(" <span class=\"by\">— {}</span>", h(p))
    });
    format!("<p class=\"statement\">“{}”{by}</p>\n", h(&s.text))
}

/// The brief as one self-contained HTML page.
pub fn render_html(insights: &[Insight], meta: &BriefMeta) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{} — {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<header>\n<h1>{}</h1>\n\
         <p class=\"sub\">{}</p>\n",
        h(&meta.title),
        h(&meta.date),
        h(&meta.title),
        h(&meta.subtitle(insights.len())),
    );
    if !meta.interests.is_empty() {
        o.push_str("<ul class=\"tags\" aria-label=\"Interests\">");
        for i in &meta.interests {
            let _ = write!(o, "<li>{}</li>", h(i));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</header>\n");
    if insights.is_empty() {
        let _ = writeln!(o, "<p class=\"empty\">{}</p>", h(&meta.nothing_new()));
    }
    for ins in insights {
        let c = &ins.chunk;
        let mut line = vec![format!("<span class=\"show\">{}</span>", h(&c.show))];
        line.extend(passage_meta(c).iter().map(|p| h(p)));
        let _ = write!(
            o,
            "<article id=\"insight-{rank}\">\n<h2><span class=\"rank\">{rank}.</span>{}</h2>\n\
             {statement}<p class=\"meta\">{}</p>\n\
             <details><summary>Whole passage</summary><blockquote>{}</blockquote></details>\n<p>{}</p>\n\
             <p class=\"why\"><b>Why this insight:</b> {}</p>\n",
            h(&c.title),
            line.join(" · "),
            h(&excerpt(&c.text, usize::MAX)),
            html_locator(c),
            h(&why_insight(&ins.signals, &meta.interests)),
            rank = ins.rank,
            statement = html_statement(&ins.statement),
        );
        if !ins.related.is_empty() {
            o.push_str("<section class=\"related\">\n<h3>Related from the archive</h3>\n<ol>\n");
            for r in &ins.related {
                let rc = &r.chunk;
                let mut line = vec![format!("<span class=\"show\">{}</span>", h(&rc.show))];
                line.extend(related_meta(rc).iter().map(|p| h(p)));
                line.push(html_locator(rc));
                let _ = writeln!(
                    o,
                    "<li><p class=\"meta\">{}</p>\
                     <p class=\"ex\">“{}”</p><p class=\"rwhy\"><b>Why related:</b> {}</p></li>",
                    line.join(" · "),
                    h(&related_quote(rc)),
                    h(&why_related(r)),
                );
            }
            o.push_str("</ol>\n</section>\n");
        }
        o.push_str("</article>\n");
    }
    o.push_str(
        "<footer>Made offline by podsift from your index.</footer>\n</main>\n</body>\n</html>\n",
    );
    o
}
