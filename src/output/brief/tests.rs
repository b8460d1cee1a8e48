//! The renderers' tests: snapshots, escaping of hostile text, the JSON
//! schema and the empty brief.

use super::*;
use crate::insight::statement::Statement;
use crate::insight::testkit::{chunk, insight};
use crate::insight::{related_hit, Insight};

const LONG: &str = "Custom silicon is about control. When you run inference at our scale, \
    the cost per token is dominated by memory bandwidth, not arithmetic, so we designed \
    the chip around HBM and a big SRAM scratchpad. The first generation was 40 percent \
    cheaper per query than the GPUs we were renting. That paid for the team in a year. \
    But the real win is the roadmap: we decide when the next part ships, we decide which \
    numeric formats it supports, and we co-design the compiler with the models our \
    researchers actually train. Nobody else can give you that. Buying chips means waiting \
    in line behind everyone else who is buying the same chips, every single generation.";

fn meta(interests: &[&str]) -> BriefMeta {
    BriefMeta {
        title: "podsift brief".into(),
        date: "2026-11-28".into(),
        interests: interests.iter().map(|s| s.to_string()).collect(),
        window: "since 2026-11-27".into(),
        episodes_scanned: 12,
    }
}

fn sample() -> Vec<Insight> {
    let mut local = chunk(
        20,
        "acquired",
        "tpu-story",
        "The TPU started as a *side project* in 2013. Everyone said [no].",
    );
    local.url = None;
    local.start_ms = Some(3_723_000);
    let rel = vec![
        related_hit(
            1,
            chunk(
                10,
                "acquired",
                "nvidia",
                "Jensen bet the company on CUDA when nobody wanted it.",
            ),
            0.71,
            vec!["chips".into(), "inference".into()],
        ),
        related_hit(1, local, 0.64, vec![]),
    ];
    let mut second = chunk(
        30,
        "the-changelog",
        "devtools",
        "Fast feedback loops beat clever tools. Ship the boring thing.",
    );
    second.speaker = None;
    second.start_ms = None;
    second.end_ms = None;
    vec![
        insight(1, chunk(1, "hard-fork", "chips", LONG), rel),
        insight(2, second, vec![]),
    ]
}

#[test]
fn excerpt_cuts_at_a_sentence_end() {
    assert_eq!(excerpt("  short\n text  ", 600), "short text");
    let e = excerpt(LONG, PASSAGE_CHARS);
    assert!(e.chars().count() <= PASSAGE_CHARS + 2, "{e}");
    assert!(
        e.ends_with("researchers actually train. Nobody else can give you that. …"),
        "{e}"
    );
    // No sentence end in the budget's second half: a word break.
    let words = "word ".repeat(100);
    let e = excerpt(&words, 42);
    assert!(e.ends_with("word …") && e.chars().count() <= 44, "{e}");
    // Multi-byte text is cut on char boundaries.
    assert!(excerpt(&"é".repeat(1000), 10).starts_with("éééééééééé"));
}

#[test]
fn markdown_snapshot() {
    let out = render_markdown(&sample(), &meta(&["AI chips", "developer tools"]));
    let expect_lines = [
        "# podsift brief — 2026-11-28",
        "2026-11-28 · since 2026-11-27 · 12 episodes scanned · 2 insights",
        "Interests: \"AI chips\", \"developer tools\"",
        "## 1. Episode chips",
        "**hard-fork** · 2026-11-27 · Ada Lovelace · 00:12:03-00:13:10  ",
        "[Listen at 00:12:03](https://example.com/chips.mp3#t=723)",
        "*Why this insight:* relevant to \"AI chips\" (0.62) · quotable (0.90) · central to the episode (0.71) · specific (0.80)",
        "**Related**",
        "- **acquired** · Episode nvidia · 00:12:03 · [Listen at 00:12:03](https://example.com/nvidia.mp3#t=723)",
        "  “Jensen bet the company on CUDA when nobody wanted it.”",
        "  *Why related:* similar meaning (0.71); both mention \"chips\", \"inference\"",
        "- **acquired** · Episode tpu-story · 01:02:03 · source: corpus/acquired/tpu-story.vtt at 01:02:03",
        "  “The TPU started as a \\*side project\\* in 2013. Everyone said \\[no\\].”",
        "## 2. Episode devtools",
        "**the-changelog** · 2026-11-27  ",
        "[Listen](https://example.com/devtools.mp3)",
        "> Fast feedback loops beat clever tools. Ship the boring thing.",
    ];
    let lines: Vec<&str> = out.lines().collect();
    for want in expect_lines {
        assert!(lines.contains(&want), "missing line {want:?} in:\n{out}");
    }
    assert!(out.contains("> Custom silicon is about control."), "{out}");
    assert!(!out.contains('<'), "no HTML in markdown:\n{out}");
    // Rank order, one quote per insight.
    assert!(out.find("## 1.").unwrap() < out.find("## 2.").unwrap());
    assert_eq!(out.lines().filter(|l| l.starts_with("> ")).count(), 2);
}

#[test]
fn html_snapshot() {
    let out = render_html(&sample(), &meta(&["developer tools"]));
    for want in [
        "<!DOCTYPE html>",
        "<meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<title>podsift brief — 2026-11-28</title>",
        "<h1>podsift brief</h1>",
        "<p class=\"sub\">2026-11-28 · since 2026-11-27 · 12 episodes scanned · 2 insights</p>",
        "<li>developer tools</li>",
        "<article id=\"insight-1\">",
        "<h2><span class=\"rank\">1.</span>Episode chips</h2>",
        "<p class=\"meta\"><span class=\"show\">hard-fork</span> · 2026-11-27 · Ada Lovelace · 00:12:03-00:13:10</p>",
        "<a href=\"https://example.com/chips.mp3#t=723\" rel=\"noopener\" target=\"_blank\">▶&nbsp;Listen at 00:12:03</a>",
        "<b>Why this insight:</b> relevant to &quot;developer tools&quot; (0.62) · quotable (0.90) · central to the episode (0.71) · specific (0.80)",
        "<b>Why related:</b> similar meaning (0.71); both mention &quot;chips&quot;, &quot;inference&quot;",
        "<span class=\"src\">source: corpus/acquired/tpu-story.vtt at 01:02:03</span>",
        "The TPU started as a *side project* in 2013.",
        "<article id=\"insight-2\">",
        "</html>",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // Self-contained: no scripts, no external resources.
    for banned in [
        "<script", "<link", "<img", "<iframe", "src=", "@import", "url(",
    ] {
        assert!(!out.to_lowercase().contains(banned), "{banned} in page");
    }
    assert_eq!(out.matches("<article").count(), 2);
    assert_eq!(out.matches("<blockquote>").count(), 2);
}

fn hostile() -> (Vec<Insight>, BriefMeta) {
    let evil = "<script>alert(1)</script> \"quotes\" 'single' &amp; <img src=x onerror=alert(2)>";
    let mut c = chunk(1, "<script>alert('show')</script>", "x", evil);
    c.title = format!("Title {evil}");
    c.speaker = Some("\"Mallory\" <b>O'Brien</b>".into());
    c.url = Some("javascript:alert(document.cookie)".into());
    let mut r1 = chunk(2, "s", "y", evil);
    r1.url = Some(" JaVaScRiPt:alert(1)".into());
    let mut r2 = chunk(3, "s", "z", "fine");
    r2.url = Some("https://example.com/a\"onmouseover=\"alert(3)".into());
    let mut r3 = chunk(4, "s", "w", "fine");
    r3.url = Some("data:text/html,<script>alert(4)</script>".into());
    let rel = |c: StoredChunk| related_hit(1, c, 0.5, vec!["<script>".into(), "\"x\"".into()]);
    let ins = vec![insight(1, c, vec![rel(r1), rel(r2), rel(r3)])];
    let mut m = meta(&[evil]);
    m.window = "since <script>".into();
    (ins, m)
}

#[test]
fn html_escapes_hostile_text() {
    let (ins, m) = hostile();
    let out = render_html(&ins, &m);
    let lower = out.to_lowercase();
    assert!(!lower.contains("<script"), "unescaped script in:\n{out}");
    assert!(!lower.contains("<img"), "unescaped img");
    assert!(!lower.contains("<b>o"), "unescaped speaker markup");
    assert!(!lower.contains("href=\"javascript:") && !lower.contains("href=\" javascript:"));
    assert!(!lower.contains("href=\"data:"));
    assert!(!out.contains("\"onmouseover"), "attribute injection");
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&quot;quotes&quot;",
        "&#39;single&#39;",
        "&amp;amp;",
        "&lt;img src=x onerror=alert(2)&gt;",
        "&quot;Mallory&quot; &lt;b&gt;O&#39;Brien&lt;/b&gt;",
        "&lt;script&gt;alert(&#39;show&#39;)&lt;/script&gt;",
        "link (not a web address): javascript:alert(document.cookie)",
        "href=\"https://example.com/a&quot;onmouseover=&quot;alert(3)#t=723\"",
    ] {
        assert!(out.contains(escaped), "missing {escaped:?} in:\n{out}");
    }
    // Every href is http(s).
    for (i, _) in out.match_indices("href=\"") {
        assert!(
            out[i + 6..].starts_with("https://") || out[i + 6..].starts_with("http://"),
            "{}",
            &out[i..i + 40]
        );
    }
}

#[test]
fn markdown_and_json_survive_hostile_text() {
    let (ins, m) = hostile();
    let md_out = render_markdown(&ins, &m);
    // Every `<` is escaped, so no Markdown renderer passes HTML through.
    for (i, _) in md_out.match_indices('<') {
        assert!(
            md_out[..i].ends_with('\\'),
            "unescaped < at {i} in:\n{md_out}"
        );
    }
    assert!(md_out.contains("> \\<script>alert(1)\\</script> \"quotes\" 'single' \\&amp;"));
    assert!(md_out.contains("(https://example.com/a%22onmouseover=%22alert%283%29#t=723)"));
    assert!(
        !md_out.contains("](javascript") && !md_out.contains("](data:"),
        "{md_out}"
    );
    for line in render_json(&ins, &m).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["type"].is_string());
    }
}

#[test]
fn json_lines_schema() {
    let out = render_json(&sample(), &meta(&["developer tools"]));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let first = &lines[0];
    assert_eq!(first["type"], "insight");
    assert_eq!(first["rank"], 1);
    assert_eq!(first["id"], "0000000000000001");
    assert_eq!(first["show"], "hard-fork");
    assert_eq!(first["episode_id"], "hard-fork/chips");
    assert_eq!(first["start"], "00:12:03");
    assert_eq!(first["link"], "https://example.com/chips.mp3#t=723");
    assert_eq!(first["text"], LONG, "JSON keeps the whole passage");
    assert_eq!(first["signals"]["salience"].as_f64().unwrap() as f32, 0.71);
    assert!(first["why"]
        .as_str()
        .unwrap()
        .starts_with("relevant to \"developer tools\""));
    let rel = first["related"].as_array().unwrap();
    assert_eq!(rel.len(), 2);
    assert_eq!(rel[0]["type"], "related");
    assert_eq!(rel[0]["rank"], 1);
    assert_eq!(
        rel[0]["shared_terms"],
        serde_json::json!(["chips", "inference"])
    );
    assert_eq!(rel[1]["url"], serde_json::Value::Null);
    assert_eq!(rel[1]["link"], serde_json::Value::Null);
    let second = &lines[1];
    for key in ["speaker", "start_ms", "end_ms", "start"] {
        assert!(
            second.get(key).is_some_and(|v| v.is_null()),
            "{key} must be null, not missing"
        );
    }
    let s = &lines[2];
    assert_eq!(s["type"], "summary");
    assert_eq!(
        (s["insights"].as_u64(), s["episodes_scanned"].as_u64()),
        (Some(2), Some(12))
    );
    assert_eq!(s["window"], "since 2026-11-27");
    assert_eq!(s["message"], serde_json::Value::Null);
}

/// The first sample insight with a disfluent passage, and its statement.
fn with_statement() -> (Vec<Insight>, &'static str, &'static str) {
    let raw = "Thanks for having me. So, um, the TPU team cut inference cost by 40 \
               percent because, you know, the chip skips the graphics work. Anyway, yeah.";
    let want = "The TPU team cut inference cost by 40 percent because the chip skips \
                the graphics work.";
    let mut ins = sample();
    ins[0].chunk.text = raw.into();
    ins[0].statement = Statement::of(raw, ins[0].chunk.speaker.as_deref());
    assert_eq!(ins[0].statement.text, want);
    (ins, raw, want)
}

fn before(out: &str, a: &str, b: &str) -> bool {
    let (Some(i), Some(j)) = (out.find(a), out.find(b)) else {
        panic!("missing {a:?} or {b:?} in:\n{out}");
    };
    i < j
}

#[test]
fn statement_leads_markdown_then_link_and_passage() {
    let (ins, raw, want) = with_statement();
    let out = render_markdown(&ins, &meta(&["AI chips"]));
    let quoted = format!("**“{want}”** — Ada Lovelace");
    let link = "[Listen at 00:12:03](https://example.com/chips.mp3#t=723)";
    assert!(out.lines().any(|l| l == quoted), "{out}");
    assert!(before(&out, "## 1. Episode chips", &quoted));
    assert!(before(&out, &quoted, link));
    assert!(before(&out, link, &format!("> {raw}")));
    // No speaker: no attribution.
    assert!(
        out.lines()
            .any(|l| l == "**“Fast feedback loops beat clever tools. Ship the boring thing.”**"),
        "{out}"
    );
}

#[test]
fn statement_leads_html_with_the_passage_behind_details() {
    let (ins, raw, want) = with_statement();
    let out = render_html(&ins, &meta(&["AI chips"]));
    let statement =
        format!("<p class=\"statement\">“{want}” <span class=\"by\">— Ada Lovelace</span></p>");
    let passage = format!(
        "<details><summary>Whole passage</summary><blockquote>{raw}</blockquote></details>"
    );
    let link = "<a href=\"https://example.com/chips.mp3#t=723\"";
    assert!(out.contains(&statement), "{out}");
    assert!(out.contains(&passage), "{out}");
    assert!(before(&out, &statement, &passage) && before(&out, &passage, link));
    assert_eq!(out.matches("<p class=\"statement\">").count(), 2);
    // Hostile speakers and text are escaped in the statement too.
    let (evil, m) = hostile();
    let page = render_html(&evil, &m);
    assert!(page.contains("<span class=\"by\">— &quot;Mallory&quot; &lt;b&gt;"));
    assert!(!page.to_lowercase().contains("<script"));
}

#[test]
fn statement_in_json_beside_the_whole_passage_and_link() {
    let (ins, raw, want) = with_statement();
    let out = render_json(&ins, &meta(&[]));
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["statement"], want);
    assert_eq!(first["text"], raw);
    assert_eq!(first["speaker"], "Ada Lovelace");
    assert_eq!(first["link"], "https://example.com/chips.mp3#t=723");
    let related = first["related"].as_array().unwrap();
    assert_eq!(related.len(), 2);
    for r in related {
        // A related passage carries its own statement beside its text.
        let said = r["statement"].as_str().unwrap();
        assert!(
            !said.is_empty() && r["text"].as_str().unwrap().contains(said),
            "{r}"
        );
    }
}

// See: issue 19, "Related on the same idea". A related passage is quoted by
// the sentences that carry its claim, cleaned, as an insight is, not by its
// opening words (a greeting, a hand-over).
#[test]
fn related_passages_are_quoted_by_their_statement() {
    let mut ins = sample();
    let raw = "Thanks for having me. So, um, the TPU team cut inference cost by 40 \
               percent because, you know, the chip skips the graphics work. Anyway, yeah.";
    let want = "The TPU team cut inference cost by 40 percent because the chip skips \
                the graphics work.";
    ins[0].related[0].chunk.text = raw.into();
    let md = render_markdown(&ins, &meta(&["AI chips"]));
    assert!(md.contains(&format!("  “{want}”")), "{md}");
    assert!(!md.contains("Thanks for having me"), "{md}");
    let html = render_html(&ins, &meta(&["AI chips"]));
    assert!(
        html.contains(&format!("<p class=\"ex\">“{want}”</p>")),
        "{html}"
    );
    let json = render_json(&ins, &meta(&[]));
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["related"][0]["statement"], want);
    assert_eq!(first["related"][0]["text"], raw);
}

#[test]
fn empty_brief_says_nothing_new_in_every_format() {
    let m = meta(&["developer tools"]);
    let want = "Nothing new since 2026-11-27: no new insights among 12 episodes scanned.";
    assert_eq!(m.nothing_new(), want);
    assert!(render_markdown(&[], &m).contains(want));
    let html = render_html(&[], &m);
    assert!(html.contains(&format!("<p class=\"empty\">{want}</p>")) && !html.contains("<article"));
    let json = render_json(&[], &m);
    assert_eq!(json.lines().count(), 1);
    let s: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(
        (s["type"].as_str(), s["message"].as_str()),
        (Some("summary"), Some(want))
    );
    let mut m = m;
    m.window = String::new();
    m.episodes_scanned = 1;
    assert_eq!(
        m.nothing_new(),
        "Nothing new since the last brief: no new insights among 1 episode scanned."
    );
}

/// Writes a sample page for a look in a browser:
/// `cargo test --lib output::brief -- --ignored write_sample_html`, then
/// `scripts/check-brief-html /tmp/brief.html`.
#[test]
#[ignore]
fn write_sample_html() {
    let mut ins = sample();
    ins[0].related[0].chunk.text = LONG.into();
    let (mut evil, _) = hostile();
    evil[0].rank = 3;
    ins.extend(evil);
    let m = meta(&[
        "why cloud companies build their own AI chips",
        "developer tools",
    ]);
    let dir = std::env::temp_dir();
    std::fs::write(dir.join("brief.html"), render_html(&ins, &m)).unwrap();
    std::fs::write(dir.join("brief-empty.html"), render_html(&[], &m)).unwrap();
    std::fs::write(dir.join("brief.md"), render_markdown(&ins, &m)).unwrap();
}
