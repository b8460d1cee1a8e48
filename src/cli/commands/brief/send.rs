//! `podsift brief --send`: the brief by email, to the profile's `[email]`
//! settings (see [`podsift::mail`]).
//!
//! The order is what makes a failed send harmless: choose the insights,
//! compose the message, send it, and only when the server has accepted it
//! record the insights in the brief state. A refusal, a lost connection or
//! a missing password leaves the state as it was, prints one line and exits
//! 2, and the next run sends the same insights. `--dry-run` prints (or with
//! `-o` saves) the message instead of sending it and records nothing.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::{prepare, with_archive, Prepared};
use crate::cli::commands::Exit;
use crate::cli::config::Config;
use crate::cli::BriefArgs;
use podsift::insight::brief::Profile;
use podsift::insight::Insight;
use podsift::mail::{self, MailError};
use podsift::output::brief::{render_html, render_markdown};
use podsift::output::safe::{self, Mode};

/// Run `brief --send`.
pub fn run(config: &Config, args: &BriefArgs, profile: &Profile) -> Result<Exit> {
    let mut settings = profile.email.clone().with_context(|| {
        format!(
            "{}: --send needs an [email] table with to, from and smtp (see README.md)",
            args.profile.display()
        )
    })?;
    if let Some(ca) = &settings.ca_file {
        if ca.is_relative() {
            let dir = args.profile.parent().unwrap_or(Path::new("."));
            settings.ca_file = Some(dir.join(ca));
        }
    }
    // The password is looked up first, so a missing one fails before the
    // model loads.
    let password = match (&settings.password_env, args.dry_run) {
        (Some(var), false) => Some(
            std::env::var(var)
                .ok()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| MailError::NoPassword { var: var.clone() })
                .context("brief not sent (state unchanged)")?,
        ),
        _ => None,
    };
    let Prepared {
        insights,
        meta,
        mut state,
        state_path,
        ..
    } = with_archive(config, args.store.as_deref(), |archive, embedder| {
        prepare(
            config,
            archive,
            embedder,
            profile,
            args.since.as_deref(),
            args.limit,
        )
    })?;
    if insights.is_empty() {
        errln!("podsift: {} No email sent.", meta.nothing_new());
        return Ok(Exit::Success);
    }
    let message = mail::compose(
        &settings,
        &subject(&meta.date, &insights),
        &render_markdown(&insights, &meta),
        &render_html(&insights, &meta),
    )?;
    let raw = message.formatted();
    if args.dry_run {
        match &args.output {
            Some(path) => {
                podsift::store::write_atomic(path, &raw)?;
                errln!(
                    "podsift: dry run: wrote the message to {} (not sent; state unchanged)",
                    path.display()
                );
            }
            // The message is 7-bit clean (quoted-printable bodies, a
            // cleaned subject); like every brief printed, it still goes
            // through the cleaning writer (line ends print as LF; `-o`
            // saves the exact bytes).
            None => safe::Writer::new(std::io::stdout().lock(), Mode::Text).write_all(&raw)?,
        }
        return Ok(Exit::Success);
    }
    mail::send(&settings, password.as_deref(), &message)
        .context("brief not sent (state unchanged; the next run sends the same insights)")?;
    // Accepted: from here on a failure must not hide that it was sent.
    state.record(&insights, chrono::Utc::now());
    state.save(&state_path).with_context(|| {
        format!(
            "the brief was sent, but recording it in {} failed (the next brief may repeat it)",
            state_path.display()
        )
    })?;
    if let Some(path) = &args.output {
        podsift::store::write_atomic(path, &raw)?;
    }
    errln!(
        "podsift: sent the brief ({} insights) to {} via {}",
        insights.len(),
        settings.to.join(", "),
        settings.server()
    );
    Ok(Exit::Success)
}

/// `podsift brief, DATE: N insights (show, show, …)`, on one clean line.
fn subject(date: &str, insights: &[Insight]) -> String {
    let mut shows: Vec<&str> = Vec::new();
    for i in insights {
        if !shows.contains(&i.chunk.show.as_str()) {
            shows.push(&i.chunk.show);
        }
    }
    let more = if shows.len() > 3 { ", …" } else { "" };
    shows.truncate(3);
    let n = insights.len();
    // Show names come from feeds: no control character reaches a header.
    safe::line(&format!(
        "podsift brief, {date}: {n} insight{} ({}{more})",
        if n == 1 { "" } else { "s" },
        shows.join(", ")
    ))
    .into_owned()
}
