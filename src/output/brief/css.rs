//! The brief page's style sheet, inlined into its `<head>`.

/// Light and dark colours, a card per insight, no external resources.
pub(super) const CSS: &str = "
:root{--fg:#1d1d1f;--muted:#5f6368;--bg:#fafaf7;--card:#fff;--line:#e3e1da;--accent:#b4451f;--quote:#f4f1ea}
@media (prefers-color-scheme:dark){:root{--fg:#e8e6e1;--muted:#a5a29b;--bg:#161615;--card:#201f1d;--line:#37352f;--accent:#f08a5d;--quote:#2a2825}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.55 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:46rem;margin:0 auto;padding:2rem 1.25rem 3rem}
header h1{margin:0 0 .25rem;font-size:1.9rem;letter-spacing:-.01em}
.sub{color:var(--muted);margin:0 0 .5rem}
.tags{margin:.5rem 0 1.5rem;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:.4rem}
.tags li{background:var(--quote);border:1px solid var(--line);border-radius:999px;padding:.1rem .7rem;font-size:.9rem}
article{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:10px;padding:1.1rem 1.3rem;margin:0 0 1.5rem}
article h2{margin:0 0 .3rem;font-size:1.3rem;line-height:1.3}
.rank{color:var(--accent);margin-right:.35rem}
.meta{color:var(--muted);font-size:.92rem;margin:0 0 .7rem}
.show{font-weight:600;color:var(--fg)}
blockquote{margin:.8rem 0;padding:.7rem 1rem;background:var(--quote);border-radius:8px;font-size:1.02rem}
a{color:var(--accent);text-decoration:none;font-weight:600;white-space:nowrap}
a:hover{text-decoration:underline}
.src{color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
.why{color:var(--muted);font-size:.9rem;margin:.6rem 0 0}
.why b,.rwhy b{color:var(--fg);font-weight:600}
.related h3{font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:1.2rem 0 .5rem}
.related ol{list-style:none;margin:0;padding:0}
.related li{border-top:1px solid var(--line);padding:.7rem 0 .2rem}
.related .meta{margin:0 0 .3rem}
.related p{margin:.2rem 0}
.ex{font-size:.95rem}
.rwhy{color:var(--muted);font-size:.85rem}
.empty{font-size:1.15rem;padding:2rem 1.3rem;text-align:center;background:var(--card);border:1px solid var(--line);border-radius:10px}
footer{color:var(--muted);font-size:.85rem;text-align:center;margin-top:2rem}
.statement{font-size:1.12rem;font-weight:600;margin:.5rem 0 .6rem}
.by{font-weight:400;color:var(--muted);white-space:nowrap}
details{margin:.6rem 0}
summary{cursor:pointer;color:var(--muted);font-size:.9rem}
";
