//! The filter prompt's grammar: `show:NAME speaker:"A B" since:DATE
//! until:DATE ads:yes`, to [`Filters`] and back.

use chrono::NaiveDate;

use super::Settings;
use crate::rank::Filters;

/// Filters as the prompt shows them: `show:NAME speaker:"A B" since:DATE
/// until:DATE ads:yes`.
pub fn format_filters(f: &Filters) -> String {
    let quote = |s: &str| {
        if s.contains(char::is_whitespace) {
            format!("\"{s}\"")
        } else {
            s.to_string()
        }
    };
    let mut parts: Vec<String> = f
        .shows
        .iter()
        .map(|s| format!("show:{}", quote(s)))
        .collect();
    if let Some(s) = &f.speaker {
        parts.push(format!("speaker:{}", quote(s)));
    }
    if let Some(d) = &f.since {
        parts.push(format!("since:{d}"));
    }
    if let Some(d) = &f.until {
        parts.push(format!("until:{d}"));
    }
    if f.include_noncontent {
        parts.push("ads:yes".into());
    }
    parts.join(" ")
}

/// Parse the filter prompt (see [`format_filters`]); shows are checked
/// against the index's, dates may be `YYYY-MM-DD` or `7d`, `4w`, `6m`, `1y`
/// before `settings.today`. Filters the prompt does not show (episodes,
/// excluded shows) are dropped.
pub fn parse_filters(text: &str, settings: &Settings) -> Result<Filters, String> {
    let mut f = Filters::default();
    for word in split_words(text)? {
        let (key, value) = word.split_once(':').ok_or_else(|| {
            format!("'{word}': write key:value (show, speaker, since, until, ads)")
        })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("'{key}:' needs a value"));
        }
        match key {
            "show" => {
                for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !settings.shows.is_empty() && !settings.shows.iter().any(|k| k == s) {
                        return Err(format!(
                            "no show '{s}' in the index (shows: {})",
                            settings.shows.join(", ")
                        ));
                    }
                    f.shows.push(s.to_string());
                }
            }
            "speaker" => {
                if !value.chars().any(char::is_alphanumeric) {
                    return Err("speaker: needs letters or digits".into());
                }
                f.speaker = Some(value.to_string());
            }
            "since" => f.since = Some(resolve_date(value, settings.today)?),
            "until" => f.until = Some(resolve_date(value, settings.today)?),
            "ads" => {
                f.include_noncontent = match value {
                    "yes" | "on" | "true" | "1" => true,
                    "no" | "off" | "false" | "0" => false,
                    _ => return Err(format!("ads:{value}: write ads:yes or ads:no")),
                }
            }
            _ => {
                return Err(format!(
                    "unknown filter '{key}' (show, speaker, since, until, ads)"
                ))
            }
        }
    }
    Ok(f)
}

/// Words of the prompt; `"..."` keeps spaces (`speaker:"Priya R"`).
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn resolve_date(value: &str, today: Option<NaiveDate>) -> Result<String, String> {
    if let Some(d) = crate::ingest::normalise_date(value) {
        return Ok(d);
    }
    let bad = || format!("'{value}' is not a date: write YYYY-MM-DD, or 7d, 4w, 6m, 1y ago");
    let today = today.ok_or_else(bad)?;
    crate::value::date(value, today).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::testkit;

    #[test]
    fn filter_syntax() {
        let set = testkit::settings();
        let f = parse_filters("show:money,garden until:2024-01-31 ads:yes", &set).unwrap();
        assert_eq!(f.shows, ["money", "garden"]);
        assert_eq!(f.until.as_deref(), Some("2024-01-31"));
        assert!(f.include_noncontent);
        assert_eq!(
            format_filters(&f),
            "show:money show:garden until:2024-01-31 ads:yes"
        );
        assert_eq!(
            parse_filters(&format_filters(&f), &set).unwrap().shows,
            f.shows
        );
        assert_eq!(
            parse_filters("since:2w", &set).unwrap().since.as_deref(),
            Some("2024-06-16")
        );
        for bad in [
            "colour:red",
            "show",
            "show:",
            "since:someday",
            "speaker:\"open",
            "ads:maybe",
        ] {
            assert!(parse_filters(bad, &set).is_err(), "{bad}");
        }
        let no_today = Settings::default();
        assert!(parse_filters("since:7d", &no_today).is_err());
        assert!(parse_filters("show:anything", &no_today).is_ok());
    }
}
