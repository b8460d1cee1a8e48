//! Drawing the explorer: a [`State`] onto a ratatui [`Frame`]. Nothing here
//! changes the state's meaning; the renderer only leaves layout facts (page
//! sizes, list offsets, how far the reading pane scrolls) in
//! [`State::viewport`] for the next key.
//!
//! ```text
//! ≥ 100 columns                              < 100 columns
//! ┌ query line ─────────────────────────┐    ┌ query line ─────────┐
//! │ breadcrumb                          │    │ breadcrumb          │
//! ├ Results ────────┬ Reading ──────────┤    ├ Results ────────────┤
//! │                 │                   │    ├ Reading | Related ──┤
//! │                 ├ Related ──────────┤    │  (the focused one)  │
//! ├─────────────────┴───────────────────┤    ├─────────────────────┤
//! │ status or keys                      │    │ status or keys      │
//! ```
//!
//! Colours follow [`Settings::color`](super::Settings::color): without
//! colour (`NO_COLOR`) only bold, underline and reverse mark things.

use std::cell::Cell;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};
use ratatui::Frame;

use super::state::{Focus, Load, Overlay, Scroll, State, Via};
use super::text::{self as tx, wrap};
use crate::ingest::timestamp::format_hms;
use crate::store::text::StoredChunk;

/// Below this width the panes stack and the related pane shares the lower
/// pane with the reading pane.
pub const WIDE: u16 = 100;
/// Smallest usable screen.
pub const MIN_WIDTH: u16 = 40;
/// Smallest usable screen.
pub const MIN_HEIGHT: u16 = 10;

/// Styles of one session.
#[derive(Debug, Clone, Copy)]
struct Theme {
    base: Style,
    dim: Style,
    show: Style,
    time: Style,
    mark: Style,
    selected: Style,
    border: Style,
    focus_border: Style,
    centre: Style,
    error: Style,
    info: Style,
    mode: Style,
}

impl Theme {
    fn new(color: bool) -> Theme {
        let b = Style::new();
        if color {
            Theme {
                base: b,
                dim: b.fg(Color::DarkGray),
                show: b.fg(Color::Cyan),
                time: b.fg(Color::Green),
                mark: b.fg(Color::Yellow).add_modifier(Modifier::BOLD),
                selected: b.bg(Color::Rgb(50, 56, 72)).add_modifier(Modifier::BOLD),
                border: b.fg(Color::DarkGray),
                focus_border: b.fg(Color::Cyan).add_modifier(Modifier::BOLD),
                centre: b.fg(Color::Yellow),
                error: b.fg(Color::Red).add_modifier(Modifier::BOLD),
                info: b.fg(Color::Cyan),
                mode: b.fg(Color::Black).bg(Color::Cyan),
            }
        } else {
            Theme {
                base: b,
                dim: b,
                show: b,
                time: b,
                mark: b.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                selected: b.add_modifier(Modifier::REVERSED),
                border: b,
                focus_border: b.add_modifier(Modifier::BOLD),
                centre: b.add_modifier(Modifier::BOLD),
                error: b.add_modifier(Modifier::BOLD),
                info: b,
                mode: b.add_modifier(Modifier::REVERSED),
            }
        }
    }
}

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The query line.
    pub top: Rect,
    /// The breadcrumb.
    pub crumb: Rect,
    /// The result list.
    pub results: Rect,
    /// The reading pane, when shown.
    pub reading: Option<Rect>,
    /// The related pane, when shown.
    pub related: Option<Rect>,
    /// The status line.
    pub status: Rect,
}

/// The layout for a screen of `area` with `focus`: side by side from
/// [`WIDE`] columns, stacked (reading or related below the results) under.
pub fn areas(area: Rect, focus: Focus) -> Areas {
    let line = |y: u16| Rect::new(area.x, y, area.width, 1);
    let top = line(area.y);
    let crumb = line(area.y + 1);
    let status = line(area.y + area.height - 1);
    let body = Rect::new(
        area.x,
        area.y + 2,
        area.width,
        area.height.saturating_sub(3),
    );
    if area.width >= WIDE {
        let left = (area.width * 42 / 100).max(36);
        let results = Rect::new(body.x, body.y, left, body.height);
        let right_w = body.width - left;
        let reading_h = (body.height * 58 / 100).max(5).min(body.height);
        let reading = Rect::new(body.x + left, body.y, right_w, reading_h);
        let related = Rect::new(
            body.x + left,
            body.y + reading_h,
            right_w,
            body.height - reading_h,
        );
        Areas {
            top,
            crumb,
            results,
            reading: Some(reading),
            related: (related.height >= 3).then_some(related),
            status,
        }
    } else {
        let results_h = (body.height * 40 / 100).max(6).min(body.height);
        let results = Rect::new(body.x, body.y, body.width, results_h);
        let lower = Rect::new(
            body.x,
            body.y + results_h,
            body.width,
            body.height - results_h,
        );
        let lower = (lower.height >= 3).then_some(lower);
        let (reading, related) = if focus == Focus::Related {
            (None, lower)
        } else {
            (lower, None)
        };
        Areas {
            top,
            crumb,
            results,
            reading,
            related,
            status,
        }
    }
}

/// Draw the whole screen, and place the cursor when a line is edited.
pub fn draw(frame: &mut Frame<'_>, state: &State) {
    let area = frame.area();
    let cursor = render(area, frame.buffer_mut(), state);
    if let Some(p) = cursor {
        frame.set_cursor_position(p);
    }
}

/// Draw into a buffer; returns where the cursor goes, if anywhere.
pub fn render(area: Rect, buf: &mut Buffer, state: &State) -> Option<Position> {
    let t = Theme::new(state.settings.color);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "podsift explore needs {MIN_WIDTH}x{MIN_HEIGHT} (this is {}x{}); q quits",
            area.width, area.height
        );
        for (i, l) in wrap(&[Span::raw(msg)], area.width as usize, &Span::raw(""))
            .iter()
            .enumerate()
            .take(area.height as usize)
        {
            buf.set_line(area.x, area.y + i as u16, l, area.width);
        }
        return None;
    }
    let a = areas(area, state.focus);
    let mut cursor = top_line(a.top, buf, state, &t);
    crumb_line(a.crumb, buf, state, &t);
    results_pane(a.results, buf, state, &t);
    if let Some(r) = a.reading {
        reading_pane(r, buf, state, &t);
    }
    if let Some(r) = a.related {
        related_pane(r, buf, state, &t);
    }
    status_line(a.status, buf, state, &t);
    match &state.overlay {
        Some(Overlay::Help) => help(area, buf, &t),
        Some(Overlay::Filter(edit)) => cursor = filter_prompt(area, buf, state, edit, &t),
        Some(Overlay::Episodes(v)) => episodes(area, buf, state, v, &t),
        None => {}
    }
    cursor
}

fn top_line(r: Rect, buf: &mut Buffer, s: &State, t: &Theme) -> Option<Position> {
    let mode = format!(" {} ", s.mode.name());
    let mut spans = vec![Span::styled(mode.clone(), t.mode), Span::raw(" ")];
    let editing = s.focus == Focus::Query && s.overlay.is_none();
    let model = match (&s.model, s.mode.needs_model()) {
        (super::ModelStatus::Loading, true) => Span::styled(" loading model… ", t.dim),
        (super::ModelStatus::Unavailable(_), true) => Span::styled(" keyword only ", t.error),
        _ => Span::raw(""),
    };
    let right = model.width() as u16;
    let room = (r.width as usize).saturating_sub(tx::width(&mode) + 1 + right as usize + 1);
    let mut cursor = None;
    if s.query.text.is_empty() && !editing {
        spans.push(Span::styled("press / to search", t.dim));
    } else {
        // Keep the cursor in view: show the end of a long query while editing.
        let before: String = s.query.text.chars().take(s.query.cursor).collect();
        let shown = if editing && tx::width(&before) + 1 > room {
            tx::truncate_start(&s.query.text, room.saturating_sub(1))
        } else {
            tx::truncate(&s.query.text, room)
        };
        let style = if editing {
            t.base.add_modifier(Modifier::BOLD)
        } else {
            t.base
        };
        if editing {
            let col = if tx::width(&before) + 1 > room {
                tx::width(&shown)
            } else {
                tx::width(&before)
            };
            cursor = Some(Position::new(
                r.x + (tx::width(&mode) + 1 + col) as u16,
                r.y,
            ));
        }
        spans.push(Span::styled(shown, style));
    }
    buf.set_line(r.x, r.y, &Line::from(spans), r.width);
    if right > 0 && right < r.width {
        buf.set_span(r.x + r.width - right, r.y, &model, right);
    }
    cursor
}

fn short(c: &StoredChunk) -> String {
    match c.start_ms {
        Some(ms) => format!("{} {}", c.show, format_hms(ms)),
        None => format!("{} #{}", c.show, c.seq + 1),
    }
}

fn crumb_line(r: Rect, buf: &mut Buffer, s: &State, t: &Theme) {
    let mut text = String::new();
    if let Some(res) = &s.results {
        text.push_str(&format!(
            "\"{}\" {}/{}",
            tx::truncate(&res.query, 24),
            (s.selected + 1).min(res.rows.len()),
            res.rows.len()
        ));
    }
    for h in &s.trail {
        if !text.is_empty() {
            text.push_str(" › ");
        }
        if h.via == Via::Episode {
            text.push_str("episode ");
        }
        text.push_str(&short(&h.chunk));
    }
    let filters = super::state::format_filters(&s.filters);
    let right = if filters.is_empty() {
        String::new()
    } else {
        format!(" filter: {}", tx::truncate(&filters, 40))
    };
    let room = (r.width as usize).saturating_sub(tx::width(&right) + 1);
    let trail = tx::truncate_start(&text, room);
    buf.set_line(r.x, r.y, &Line::styled(trail, t.dim), r.width);
    if !right.is_empty() {
        let w = tx::width(&right) as u16;
        buf.set_line(
            r.x + r.width.saturating_sub(w),
            r.y,
            &Line::styled(right, t.info),
            w,
        );
    }
}

/// A bordered block, its title marked when focused; returns the inside.
fn pane(r: Rect, buf: &mut Buffer, title: String, focused: bool, t: &Theme) -> Rect {
    let (style, title) = if focused {
        (t.focus_border, format!("▸ {title} "))
    } else {
        (t.border, format!(" {title} "))
    };
    let title = tx::truncate(&title, r.width.saturating_sub(2) as usize);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(title, style));
    let inner = block.inner(r);
    block.render(r, buf);
    inner
}

/// The first visible item so that `selected` shows, scrolling as little as
/// possible from the last offset.
fn offset(cell: &Cell<usize>, selected: usize, visible: usize, n: usize) -> usize {
    let visible = visible.max(1);
    let mut off = cell.get().min(n.saturating_sub(1));
    if selected < off {
        off = selected;
    } else if selected >= off + visible {
        off = selected + 1 - visible;
    }
    cell.set(off);
    off
}

/// `left` and `right` on one line of `width`, `left` cut to make room.
fn two_sides(left: Vec<Span<'static>>, right: Span<'static>, width: usize) -> Line<'static> {
    let rw = right.width();
    let room = width.saturating_sub(rw + 1);
    let mut spans = tx::truncate_spans(left, room);
    let used: usize = spans.iter().map(Span::width).sum();
    if rw + used < width {
        spans.push(Span::raw(" ".repeat(width - used - rw)));
        spans.push(right);
    }
    Line::from(spans)
}

fn paint_selected(line: Line<'static>, style: Style) -> Line<'static> {
    Line::from(
        line.spans
            .into_iter()
            .map(|s| {
                let st = s.style.patch(style);
                Span::styled(s.content, st)
            })
            .collect::<Vec<_>>(),
    )
}

/// One row of a list in `row` (one line high): a mark in the first column
/// for the selected item, and the item highlighted when its list has focus.
fn list_row(
    buf: &mut Buffer,
    row: Rect,
    line: Line<'static>,
    selected: bool,
    focused: bool,
    t: &Theme,
) {
    let (x, y, width) = (row.x, row.y, row.width);
    let mark = if selected { "▌" } else { " " };
    let mut l = if selected && focused {
        paint_selected(
            Line::from(
                std::iter::once(Span::raw(""))
                    .chain(line.spans)
                    .collect::<Vec<_>>(),
            ),
            t.selected,
        )
    } else {
        line
    };
    if selected && focused {
        // Fill the row so the selection reads as a bar.
        let w = l.width();
        if w < width as usize - 1 {
            l.spans
                .push(Span::styled(" ".repeat(width as usize - 1 - w), t.selected));
        }
    }
    buf.set_span(x, y, &Span::styled(mark, t.centre), 1);
    buf.set_line(x + 1, y, &l, width.saturating_sub(1));
}

fn results_pane(r: Rect, buf: &mut Buffer, s: &State, t: &Theme) {
    let focused = s.focus == Focus::Results;
    let title = match (&s.results, s.pending_mode()) {
        (_, Some((m, _))) => format!("Results · searching ({})…", m.name()),
        (Some(res), None) => {
            let n = res.rows.len();
            if !res.fallback {
                format!("{n} results · {} · {:.0} ms", res.mode.name(), res.ms)
            } else if matches!(s.model, super::ModelStatus::Unavailable(_)) {
                format!("{n} results · keyword (no model)")
            } else {
                format!("{n} results · keyword (model loading)")
            }
        }
        (None, None) => "Results".to_string(),
    };
    let inner = pane(r, buf, title, focused, t);
    let per = 2usize;
    let visible = (inner.height as usize / per).max(1);
    s.viewport.results_rows.set(visible);
    let Some(res) = &s.results else {
        let msg = if s.searching() {
            "searching…"
        } else {
            "type a query and press Enter"
        };
        buf.set_line(inner.x + 1, inner.y, &Line::styled(msg, t.dim), inner.width);
        return;
    };
    if res.rows.is_empty() {
        buf.set_line(
            inner.x + 1,
            inner.y,
            &Line::styled(format!("no results for \"{}\"", res.query), t.dim),
            inner.width.saturating_sub(1),
        );
        return;
    }
    let off = offset(
        &s.viewport.results_offset,
        s.selected,
        visible,
        res.rows.len(),
    );
    let w = inner.width.saturating_sub(1) as usize;
    for (i, row) in res.rows.iter().enumerate().skip(off).take(visible) {
        let y = inner.y + ((i - off) * per) as u16;
        let c = &row.hit.chunk;
        let time = row.hit.start_ms.map(format_hms).unwrap_or_default();
        let head = two_sides(
            vec![
                Span::styled(format!("{:>2} ", row.hit.rank), t.dim),
                Span::styled(c.show.clone(), t.show),
                Span::styled(" · ", t.dim),
                Span::styled(c.title.clone(), t.base.add_modifier(Modifier::BOLD)),
            ],
            Span::styled(time, t.time),
            w,
        );
        let mut body = vec![Span::raw("   ")];
        if let Some(sp) = &c.speaker {
            body.push(Span::styled(format!("{sp}: "), t.dim));
        }
        body.extend(row.snippet.spans(&s.terms, t.base, t.mark));
        let body = Line::from(tx::truncate_spans(body, w));
        // The selected result is the root of the trail: always marked,
        // highlighted while the list has focus.
        let sel = i == s.selected;
        list_row(
            buf,
            Rect::new(inner.x, y, inner.width, 1),
            head,
            sel,
            focused,
            t,
        );
        if y + 1 < inner.y + inner.height {
            list_row(
                buf,
                Rect::new(inner.x, y + 1, inner.width, 1),
                body,
                sel,
                focused,
                t,
            );
        }
    }
}

fn reading_pane(r: Rect, buf: &mut Buffer, s: &State, t: &Theme) {
    let focused = s.focus == Focus::Reading;
    let Some(centre) = s.centre() else {
        pane(r, buf, "Reading".into(), focused, t);
        return;
    };
    let mut title = format!("{} · {}", centre.show, centre.title);
    if let Some(d) = &centre.date {
        title.push_str(&format!(" · {d}"));
    }
    let inner = pane(r, buf, title, focused, t);
    let width = inner.width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut centre_line = 0;
    let mut add = |chunk: &StoredChunk, spans: Vec<Span<'static>>, lines: &mut Vec<Line>| {
        let is_centre = chunk.id == centre.id;
        let time = match (chunk.start_ms, chunk.end_ms) {
            (Some(a), Some(b)) => format!("{}-{}", format_hms(a), format_hms(b)),
            (Some(a), None) => format_hms(a),
            _ => format!("#{}", chunk.seq + 1),
        };
        let speaker = chunk.speaker.clone().unwrap_or_default();
        if is_centre {
            centre_line = lines.len();
            lines.push(Line::from(vec![
                Span::styled("▶ ", t.centre),
                Span::styled(time, t.time.add_modifier(Modifier::BOLD)),
                Span::raw(" "),
                Span::styled(speaker, t.base.add_modifier(Modifier::BOLD)),
            ]));
            lines.extend(statement_lines(chunk, width, t));
            lines.extend(wrap(&spans, width, &Span::styled("▌ ", t.centre)));
        } else {
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(time, t.dim),
                Span::raw(" "),
                Span::styled(speaker, t.dim),
            ]));
            lines.extend(wrap(&spans, width, &Span::raw("  ")));
        }
        lines.push(Line::raw(""));
    };
    let body_style = |is_centre: bool| if is_centre { t.base } else { t.dim };
    match s.centre_context() {
        Some(Load::Ready(passages)) if passages.iter().any(|p| p.chunk.id == centre.id) => {
            for p in passages {
                let spans = p
                    .text
                    .spans(&s.terms, body_style(p.chunk.id == centre.id), t.mark);
                add(&p.chunk, spans, &mut lines);
            }
        }
        other => {
            let a = tx::Analysed::new(&centre.text);
            add(centre, a.spans(&s.terms, t.base, t.mark), &mut lines);
            match other {
                Some(Load::Failed(e)) => lines.push(Line::styled(
                    format!("  cannot read neighbours: {e}"),
                    t.error,
                )),
                _ => lines.push(Line::styled("  reading neighbours…", t.dim)),
            }
        }
    }
    let rows = inner.height as usize;
    let max = lines.len().saturating_sub(rows);
    let top = match s.scroll {
        // With room, the end of the passage before stays in view.
        Scroll::Centre => centre_line
            .saturating_sub(if rows >= 12 { 2 } else { 0 })
            .min(max),
        Scroll::At(n) => n.min(max),
    };
    s.viewport.reading_rows.set(rows);
    s.viewport.reading_max.set(max);
    s.viewport.reading_top.set(top);
    for (i, l) in lines.iter().skip(top).take(rows).enumerate() {
        buf.set_line(inner.x, inner.y + i as u16, l, inner.width);
    }
    if lines.len() > rows && inner.width > 0 {
        let pct = format!(" {}% ", (top + rows).min(lines.len()) * 100 / lines.len());
        let w = tx::width(&pct) as u16;
        if w + 2 < r.width {
            buf.set_line(
                r.x + r.width - w - 1,
                r.y + r.height - 1,
                &Line::styled(pct, t.dim),
                w,
            );
        }
    }
}

/// The centre passage's statement (its claim, cleaned: see
/// [`Statement`](crate::insight::statement::Statement)) in bold above the
/// whole passage; nothing when it would only repeat the passage.
fn statement_lines(c: &StoredChunk, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let st = crate::insight::statement::Statement::of(&c.text, None);
    let flat = c.text.split_whitespace().collect::<Vec<_>>().join(" ");
    if st.is_empty() || st.text == flat {
        return Vec::new();
    }
    let quote = Span::styled(
        format!("“{}”", st.text),
        t.base.add_modifier(Modifier::BOLD),
    );
    let mut lines = wrap(&[quote], width, &Span::styled("▌ ", t.centre));
    lines.push(Line::from(Span::styled("▌", t.centre)));
    lines
}

fn related_pane(r: Rect, buf: &mut Buffer, s: &State, t: &Theme) {
    let focused = s.focus == Focus::Related;
    let load = s.centre_related();
    let title = match load {
        Some(Load::Ready(rows)) => format!("Related · {} from other episodes", rows.len()),
        Some(Load::Pending) => "Related · finding…".to_string(),
        Some(Load::Failed(_)) => "Related · failed".to_string(),
        None => "Related".to_string(),
    };
    let inner = pane(r, buf, title, focused, t);
    let per = 3usize;
    let visible = (inner.height as usize / per).max(1);
    s.viewport.related_rows.set(visible);
    let msg = |buf: &mut Buffer, text: String, style: Style| {
        buf.set_line(
            inner.x + 1,
            inner.y,
            &Line::styled(text, style),
            inner.width.saturating_sub(1),
        );
    };
    let rows = match load {
        Some(Load::Ready(rows)) => rows,
        Some(Load::Failed(e)) => return msg(buf, e.clone(), t.error),
        Some(Load::Pending) => return msg(buf, "finding related passages…".into(), t.dim),
        None => return,
    };
    if rows.is_empty() {
        return msg(buf, "nothing related outside this episode".into(), t.dim);
    }
    let sel = s.related_sel.min(rows.len() - 1);
    let off = offset(&s.viewport.related_offset, sel, visible, rows.len());
    let w = inner.width.saturating_sub(1) as usize;
    for (i, row) in rows.iter().enumerate().skip(off).take(visible) {
        let y = inner.y + ((i - off) * per) as u16;
        let c = &row.rel.chunk;
        let time = c.start_ms.map(format_hms).unwrap_or_default();
        let head = two_sides(
            vec![
                Span::styled(c.show.clone(), t.show),
                Span::styled(" · ", t.dim),
                Span::styled(c.title.clone(), t.base.add_modifier(Modifier::BOLD)),
            ],
            Span::styled(time, t.time),
            w,
        );
        let mut why = vec![Span::styled(format!("  {:.2}", row.rel.score), t.dim)];
        if !row.rel.shared_terms.is_empty() {
            why.push(Span::styled(" · both: ", t.dim));
            let terms: Vec<String> = row
                .rel
                .shared_terms
                .iter()
                .map(|x| format!("\"{x}\""))
                .collect();
            why.push(Span::styled(terms.join(", "), t.mark));
        }
        let why = Line::from(tx::truncate_spans(why, w));
        let mut body = vec![Span::raw("  ")];
        body.extend(row.snippet.spans(&row.terms, t.base, t.mark));
        let body = Line::from(tx::truncate_spans(body, w));
        let is_sel = i == sel;
        let bottom = inner.y + inner.height;
        for (k, l) in [head, why, body].into_iter().enumerate() {
            if y + (k as u16) < bottom {
                list_row(
                    buf,
                    Rect::new(inner.x, y + k as u16, inner.width, 1),
                    l,
                    is_sel,
                    focused,
                    t,
                );
            }
        }
    }
}

fn hints(s: &State) -> &'static str {
    match s.focus {
        Focus::Query => "Enter search · Tab mode · Esc cancel · Ctrl-U clear · Ctrl-C quit",
        Focus::Results => {
            "↑↓ move · Enter related · Tab pane · / search · m mode · f filter · e episodes · o open · y copy · ? keys · q quit"
        }
        Focus::Reading => "↑↓ PgUp PgDn scroll · c centre · Tab pane · ⌫ back · o open · y copy · ? keys · q quit",
        Focus::Related => "↑↓ move · Enter hop · ⌫ back · Tab pane · o open · y copy · e episodes · ? keys · q quit",
    }
}

fn status_line(r: Rect, buf: &mut Buffer, s: &State, t: &Theme) {
    let line = match &s.status {
        Some(st) => Line::styled(
            tx::truncate(&st.text, r.width as usize),
            if st.error { t.error } else { t.info },
        ),
        None => Line::styled(tx::truncate(hints(s), r.width as usize), t.dim),
    };
    buf.set_line(r.x, r.y, &line, r.width);
}

/// A box in the middle of `area`, cleared; returns the inside.
fn popup(area: Rect, buf: &mut Buffer, w: u16, h: u16, title: String, t: &Theme) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(r, buf);
    pane(r, buf, title, true, t)
}

/// The keys, as the help overlay lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("/  i", "edit the query (Enter searches, Esc cancels)"),
    ("Tab (editing)", "cycle mode: hybrid, keyword, semantic"),
    ("m", "cycle mode and search again"),
    ("↑ ↓  j k", "move in the focused pane (scroll when reading)"),
    ("PgUp PgDn g G", "page, first, last"),
    ("Tab ← →", "focus results, reading, related"),
    ("Enter", "results: go to related; related: hop to it"),
    ("Backspace", "back along the trail"),
    ("c", "reading: scroll back to the centre passage"),
    ("f", "filters: show, speaker, since, until, ads"),
    ("e", "episodes of the show (←/→ other shows)"),
    ("o", "open the deep link (or show it)"),
    ("y", "copy the deep link (OSC 52)"),
    ("q  Ctrl-C", "quit"),
];

fn help(area: Rect, buf: &mut Buffer, t: &Theme) {
    let inner = popup(
        area,
        buf,
        72,
        KEYS.len() as u16 + 4,
        "Keys (any key closes)".into(),
        t,
    );
    for (i, (k, what)) in KEYS.iter().enumerate() {
        if i as u16 >= inner.height {
            break;
        }
        let l = Line::from(vec![
            Span::styled(format!(" {k:<15}"), t.mark),
            Span::raw(*what),
        ]);
        buf.set_line(inner.x, inner.y + i as u16, &l, inner.width);
    }
}

fn filter_prompt(
    area: Rect,
    buf: &mut Buffer,
    s: &State,
    edit: &super::state::LineEdit,
    t: &Theme,
) -> Option<Position> {
    let h = 5.min(area.height);
    let r = Rect::new(area.x, area.y + area.height - h, area.width, h);
    Clear.render(r, buf);
    let inner = pane(
        r,
        buf,
        "Filter · Enter applies · Esc cancels · empty clears".into(),
        true,
        t,
    );
    let room = inner.width.saturating_sub(3) as usize;
    let before: String = edit.text.chars().take(edit.cursor).collect();
    let (shown, col) = if tx::width(&before) + 1 > room {
        let s = tx::truncate_start(&before, room.saturating_sub(1));
        let w = tx::width(&s);
        (s, w)
    } else {
        (tx::truncate(&edit.text, room), tx::width(&before))
    };
    buf.set_line(
        inner.x,
        inner.y,
        &Line::from(vec![Span::styled("> ", t.mark), Span::raw(shown)]),
        inner.width,
    );
    let help = "show:NAME  speaker:\"FIRST LAST\"  since:2024-01-01|7d|6m  until:DATE  ads:yes";
    buf.set_line(
        inner.x,
        inner.y + 1,
        &Line::styled(tx::truncate(help, inner.width as usize), t.dim),
        inner.width,
    );
    if inner.height > 2 && !s.settings.shows.is_empty() {
        let shows = format!("shows: {}", s.settings.shows.join(", "));
        buf.set_line(
            inner.x,
            inner.y + 2,
            &Line::styled(tx::truncate(&shows, inner.width as usize), t.dim),
            inner.width,
        );
    }
    Some(Position::new(inner.x + 2 + col as u16, inner.y))
}

fn episodes(area: Rect, buf: &mut Buffer, s: &State, v: &super::state::EpisodesView, t: &Theme) {
    let w = (area.width * 9 / 10).max(MIN_WIDTH.min(area.width));
    let h = (area.height * 8 / 10).max(6);
    let n = match &v.list {
        Load::Ready(l) => l.len().to_string(),
        _ => "…".into(),
    };
    let more = if s.settings.shows.len() > 1 {
        " · ←→ show"
    } else {
        ""
    };
    let inner = popup(
        area,
        buf,
        w,
        h,
        format!("Episodes · {} · {n}{more} · Enter reads · Esc", v.show),
        t,
    );
    let list = match &v.list {
        Load::Ready(l) => l,
        Load::Pending => {
            buf.set_line(inner.x + 1, inner.y, &Line::styled("…", t.dim), inner.width);
            return;
        }
        Load::Failed(e) => {
            buf.set_line(
                inner.x + 1,
                inner.y,
                &Line::styled(e.clone(), t.error),
                inner.width,
            );
            return;
        }
    };
    let visible = inner.height as usize;
    let off = offset(&v.offset, v.selected, visible, list.len());
    let wd = inner.width.saturating_sub(1) as usize;
    for (i, ep) in list.iter().enumerate().skip(off).take(visible) {
        let y = inner.y + (i - off) as u16;
        let date = ep.date.clone().unwrap_or_else(|| "----------".into());
        let mut right = format!("{} passages", ep.passages);
        if ep.duration_ms > 0 {
            right.push_str(&format!(" · {}", format_hms(ep.duration_ms)));
        }
        let line = two_sides(
            vec![
                Span::styled(date, t.time),
                Span::raw("  "),
                Span::raw(ep.title.clone()),
            ],
            Span::styled(right, t.dim),
            wd,
        );
        list_row(
            buf,
            Rect::new(inner.x, y, inner.width, 1),
            line,
            i == v.selected,
            true,
            t,
        );
    }
}

/// The screen as text, one string per row (for tests and captures).
pub fn buffer_lines(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (0..area.height)
        .map(|y| {
            let mut s = String::new();
            let mut skip = 0;
            for x in 0..area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let sym = buf[(area.x + x, area.y + y)].symbol();
                s.push_str(sym);
                skip = tx::width(sym).saturating_sub(1);
            }
            s.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests;
