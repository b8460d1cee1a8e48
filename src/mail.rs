//! The brief by email: the message and its delivery over SMTP, as the
//! `[email]` table of a profile ([`crate::insight::brief::email`]) says.
//!
//! Settings → [`compose`] → `lettre::Message` → [`send`]. The message is one
//! `multipart/alternative`: `text/plain` (the Markdown rendering, which reads
//! as plain text) first, then `text/html` (the HTML rendering), both UTF-8
//! and quoted-printable, so the message is 7-bit clean and no byte of a
//! transcript reaches a terminal that prints it (`brief --send --dry-run`)
//! as a control character. Headers are UTF-8 (RFC 2047 encoded words where
//! needed). It is a personal message: no `List-Unsubscribe`, no
//! `Precedence: bulk`.
//!
//! Delivery uses lettre's blocking SMTP client with rustls: `starttls`
//! (plain connection, then `STARTTLS`, required), `tls` (implicit TLS, as on
//! port 465) or `none` (plain text; the profile parser accepts it only for a
//! relay on a loopback address). Certificates are checked against the
//! Mozilla roots (webpki-roots) plus, when `ca_file` is set, the CAs in that
//! PEM file (a self-hosted server with a private CA, or a test's throwaway
//! one). With `password_env` the client authenticates with `AUTH PLAIN` or
//! `AUTH LOGIN` (whichever the server offers), only over TLS.
//!
//! This module never reads the environment: the caller looks up the
//! variable that `password_env` names and passes the password in.
//!
//! Every error names the server and says why in one line; what the server
//! said is cleaned of control characters first (it comes from outside).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

pub use crate::insight::brief::email::{EmailSettings, TlsMode};

/// The brief as one message: `text` (Markdown) and `html` as alternatives.
pub fn compose(
    settings: &EmailSettings,
    subject: &str,
    text: &str,
    html: &str,
) -> Result<Message, MailError> {
    let bad = |what: &str, e: String| MailError::Setting {
        what: format!("email.{what}"),
        message: e,
    };
    let mut builder = Message::builder()
        .from(Mailbox::from_str(&settings.from).map_err(|e| bad("from", e.to_string()))?)
        .subject(subject)
        .date_now()
        .user_agent(format!("podsift/{}", env!("CARGO_PKG_VERSION")));
    for to in &settings.to {
        builder = builder.to(Mailbox::from_str(to).map_err(|e| bad("to", e.to_string()))?);
    }
    let part = |content_type: ContentType, body: &str| {
        SinglePart::builder()
            .header(content_type)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(body.to_string())
    };
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, text))
                .singlepart(part(ContentType::TEXT_HTML, html)),
        )
        .map_err(|e| bad("to", e.to_string()))
}

/// Why a message was not made or not delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A setting of the `[email]` table is unusable (an address, the CA
    /// file's contents).
    #[error("{what}: {message}")]
    Setting {
        /// Which setting.
        what: String,
        /// Why.
        message: String,
    },
    /// A file the settings name could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The server answered with a permanent (5xx) or transient (4xx) error.
    #[error("{server} {verb} the message: {code} {text}")]
    Refused {
        /// `host:port`.
        server: String,
        /// "refused" (5xx) or "deferred" (4xx).
        verb: &'static str,
        /// The reply code.
        code: String,
        /// What the server said, cleaned.
        text: String,
    },
    /// The server turned the login down.
    #[error("{server} did not accept the login '{user}': {code} {text}")]
    Auth {
        /// `host:port`.
        server: String,
        /// The login.
        user: String,
        /// The reply code.
        code: String,
        /// What the server said, cleaned.
        text: String,
    },
    /// The TLS handshake failed (an untrusted certificate, no STARTTLS).
    #[error("TLS with {server} failed: {reason}{hint}")]
    Tls {
        /// `host:port`.
        server: String,
        /// Why, cleaned.
        reason: String,
        /// What to try.
        hint: &'static str,
    },
    /// The connection could not be made or was lost.
    #[error("could not deliver to {server}: {reason}")]
    Connection {
        /// `host:port`.
        server: String,
        /// Why, cleaned.
        reason: String,
    },
    /// The password variable is unset.
    #[error("the environment variable {var} (email.password_env) is not set or empty")]
    NoPassword {
        /// Its name.
        var: String,
    },
}

/// How long the SMTP client waits for each reply.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Deliver `message`. `password` is the value of the variable that
/// `password_env` names (`None`: no login). Returns when the server has
/// accepted the message (its reply to the end of `DATA`).
pub fn send(
    settings: &EmailSettings,
    password: Option<&str>,
    message: &Message,
) -> Result<(), MailError> {
    let server = settings.server();
    let mut builder = SmtpTransport::builder_dangerous(settings.host.as_str())
        .port(settings.port)
        .timeout(Some(TIMEOUT));
    if settings.tls != TlsMode::None {
        let mut params = TlsParameters::builder(settings.host.clone());
        if let Some(ca) = &settings.ca_file {
            params = params.add_root_certificate(ca_certificate(ca)?);
        }
        let params = params.build_rustls().map_err(|e| MailError::Tls {
            server: server.clone(),
            reason: clean(&chain(&e)),
            hint: "",
        })?;
        builder = builder.tls(match settings.tls {
            TlsMode::StartTls => Tls::Required(params),
            _ => Tls::Wrapper(params),
        });
    }
    if let Some(var) = &settings.password_env {
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| MailError::NoPassword { var: var.clone() })?;
        builder = builder
            .credentials(Credentials::new(settings.login(), password.to_string()))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    builder
        .build()
        .send(message)
        .map(|_| ())
        .map_err(|e| classify(settings, &server, &e))
}

/// The certificates of the PEM file `path`.
fn ca_certificate(path: &Path) -> Result<Certificate, MailError> {
    let pem = std::fs::read(path).map_err(|source| MailError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Certificate::from_pem(&pem).map_err(|e| MailError::Setting {
        what: format!("email.ca_file {}", path.display()),
        message: format!("not a PEM certificate file ({})", clean(&chain(&e))),
    })
}

/// A lettre error as a [`MailError`].
fn classify(
    settings: &EmailSettings,
    server: &str,
    e: &lettre::transport::smtp::Error,
) -> MailError {
    let server = server.to_string();
    if let Some(code) = e.status() {
        let code = code.to_string();
        // lettre's text is "permanent error (550): <what the server said>".
        let said = std::error::Error::source(e)
            .map_or_else(|| "no reason given".to_string(), |s| s.to_string());
        let text = clean(&said);
        if settings.password_env.is_some() && matches!(code.as_str(), "530" | "534" | "535" | "538")
        {
            return MailError::Auth {
                server,
                user: settings.login(),
                code,
                text,
            };
        }
        let verb = if e.is_transient() {
            "deferred"
        } else {
            "refused"
        };
        return MailError::Refused {
            server,
            verb,
            code,
            text,
        };
    }
    let reason = clean(&chain(e));
    if e.is_tls() {
        let hint = if reason.contains("UnknownIssuer") || reason.contains("certificate") {
            " (a server with a private CA: set email.ca_file to its PEM)"
        } else {
            ""
        };
        return MailError::Tls {
            server,
            reason,
            hint,
        };
    }
    let reason = if e.is_timeout() {
        format!("no reply within {} s ({reason})", TIMEOUT.as_secs())
    } else {
        reason
    };
    MailError::Connection { server, reason }
}

/// An error and its causes, `a: b: c`, without repeats.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}

/// Text from outside (a server's reply) made safe for one terminal line:
/// control characters become spaces, runs of spaces one, at most 300
/// characters.
pub fn clean(s: &str) -> String {
    let mut out = String::new();
    // The one definition of a control character: crate::output::safe.
    for c in crate::output::safe::line(s).chars() {
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_end().to_string();
    if out.chars().count() > 300 {
        let cut: String = out.chars().take(299).collect();
        format!("{cut}…")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::brief::email::test_settings as email;

    #[test]
    fn the_message_is_7bit_multipart_alternative_with_utf8_headers() {
        let s = email("to = \"Zoë <z@example.com>\"\nfrom = \"podsift <me@example.com>\"\nsmtp = \"smtp://h.example\"\n")
            .unwrap();
        let m = compose(
            &s,
            "podsift brief — 3 insights",
            "# Brief\n\nÜber \u{1b}[31mred\u{1b}[0m\n",
            "<p>Über</p>\n",
        )
        .unwrap();
        let raw = m.formatted();
        assert!(
            raw.iter()
                .all(|&b| b == b'\r' || b == b'\n' || (32..127).contains(&b)),
            "7-bit, no control bytes"
        );
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.contains("Content-Type: multipart/alternative"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/plain; charset=utf-8"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/html; charset=utf-8"),
            "{text}"
        );
        // The dash is an encoded word (RFC 2047); the ASCII words may stay plain.
        let subject = text.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(subject.contains("=?utf-8?"), "{subject}");
        assert!(!subject.contains('—'), "{subject}");
        assert!(text.find("text/plain").unwrap() < text.find("text/html").unwrap());
        assert!(!text.to_ascii_lowercase().contains("list-unsubscribe"));
    }

    #[test]
    fn clean_removes_control_characters() {
        assert_eq!(
            clean("550 no\r\n\u{1b}[2Jsuch\tuser "),
            "550 no [2Jsuch user"
        );
        assert_eq!(clean(&"x".repeat(400)).chars().count(), 300);
    }

    #[test]
    fn a_missing_password_is_an_error_before_connecting() {
        let s = email("to = \"a@example.com\"\nfrom = \"me@example.com\"\nsmtp = \"smtp://127.0.0.1:9\"\npassword_env = \"P\"\n")
            .unwrap();
        let m = compose(&s, "s", "t", "h").unwrap();
        let e = send(&s, None, &m).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the environment variable P (email.password_env) is not set or empty"
        );
    }
}
