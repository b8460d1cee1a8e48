//! The brief by email: the `[email]` table of a profile, the message, and
//! its delivery over SMTP.
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

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use toml::de::DeValue;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::insight::brief::{edit_distance, kind, line_of, ProfileError};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with `STARTTLS`, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on a loopback address (port 25).
    None,
}

impl TlsMode {
    /// The port used when `smtp` names none.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }

    /// The name used in the profile.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
            TlsMode::None => "none",
        }
    }
}

/// The `[email]` table of a profile, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// Recipients (at least one), as written (`Name <addr>` or `addr`).
    pub to: Vec<String>,
    /// The sender, as written.
    pub from: String,
    /// The SMTP server's host name or address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// The login [default: the address of `from`].
    pub user: Option<String>,
    /// The environment variable holding the password; `None`: no `AUTH`.
    pub password_env: Option<String>,
    /// A PEM file of CA certificates to trust besides the public roots,
    /// as written (the caller resolves a relative path against the
    /// profile's folder).
    pub ca_file: Option<PathBuf>,
}

impl EmailSettings {
    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The login: `user`, else the address of `from`.
    pub fn login(&self) -> String {
        if let Some(u) = &self.user {
            return u.clone();
        }
        Mailbox::from_str(&self.from)
            .map(|m| m.email.to_string())
            .unwrap_or_else(|_| self.from.clone())
    }
}

/// The keys of `[email]`.
pub const EMAIL_KEYS: [&str; 7] = [
    "to",
    "from",
    "smtp",
    "tls",
    "user",
    "password_env",
    "ca_file",
];

/// Validate the `[email]` table `v` of the profile `text` (for line numbers).
/// Keys are reported as `email.KEY`, in the profile parser's style.
pub fn parse_settings(text: &str, v: &Spanned<DeValue<'_>>) -> Result<EmailSettings, ProfileError> {
    let err = |span: Range<usize>, key: &str, message: String| ProfileError {
        line: line_of(text, span.start),
        key: Some(format!("email.{key}")),
        message,
    };
    let DeValue::Table(table) = v.get_ref() else {
        return Err(ProfileError {
            line: line_of(text, v.span().start),
            key: Some("email".into()),
            message: format!(
                "key 'email' must be a table ([email] with to, from, smtp) (got {})",
                kind(v.get_ref())
            ),
        });
    };
    let mut to = None;
    let mut from = None;
    let mut smtp: Option<(url::Url, Range<usize>)> = None;
    let mut tls = TlsMode::StartTls;
    let mut tls_span = v.span();
    let mut user = None;
    let mut password_env = None;
    let mut ca_file = None;
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (k, val) in entries {
        let key = k.get_ref().as_ref();
        let span = val.span();
        let string = |what: &str| -> Result<String, ProfileError> {
            match val.get_ref().as_str().map(str::trim) {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                Some(_) => Err(err(
                    span.clone(),
                    key,
                    format!("key 'email.{key}' must be {what} (got an empty string)"),
                )),
                None => Err(err(
                    span.clone(),
                    key,
                    format!(
                        "key 'email.{key}' must be {what} (got {})",
                        kind(val.get_ref())
                    ),
                )),
            }
        };
        let mailbox = |s: &str| -> Result<(), ProfileError> {
            Mailbox::from_str(s).map(|_| ()).map_err(|e| {
                err(
                    span.clone(),
                    key,
                    format!("key 'email.{key}': '{s}' is not an email address ({e})"),
                )
            })
        };
        match key {
            "to" => {
                let must = "an address or an array of addresses";
                let list = match val.get_ref() {
                    DeValue::Array(items) => {
                        let mut out = Vec::new();
                        for item in items {
                            match item.get_ref().as_str().map(str::trim) {
                                Some(s) if !s.is_empty() => out.push(s.to_string()),
                                _ => {
                                    return Err(err(
                                        item.span(),
                                        key,
                                        format!(
                                            "key 'email.to' must be {must} (got {})",
                                            kind(item.get_ref())
                                        ),
                                    ))
                                }
                            }
                        }
                        out
                    }
                    _ => vec![string(must)?],
                };
                if list.is_empty() {
                    return Err(err(
                        span,
                        key,
                        format!("key 'email.to' must be {must} (got an empty array)"),
                    ));
                }
                for s in &list {
                    mailbox(s)?;
                }
                to = Some(list);
            }
            "from" => {
                let s = string("an address such as \"podsift <me@example.com>\"")?;
                mailbox(&s)?;
                from = Some(s);
            }
            "smtp" => {
                let must = "a URL such as \"smtp://smtp.example.com:587\"";
                let s = string(must)?;
                let url = url::Url::parse(&s).map_err(|e| {
                    err(
                        span.clone(),
                        key,
                        format!("key 'email.smtp' must be {must} (got \"{s}\": {e})"),
                    )
                })?;
                if url.scheme() != "smtp" {
                    return Err(err(
                        span,
                        key,
                        format!(
                            "key 'email.smtp' must be {must} (got scheme '{}'; say tls = \"tls\" for implicit TLS)",
                            url.scheme()
                        ),
                    ));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(err(
                        span,
                        key,
                        "key 'email.smtp' must not hold a user or password: set user, and name \
                         the environment variable that holds the password in password_env"
                            .into(),
                    ));
                }
                if url.host_str().is_none_or(str::is_empty)
                    || !matches!(url.path(), "" | "/")
                    || url.query().is_some()
                    || url.fragment().is_some()
                {
                    return Err(err(
                        span,
                        key,
                        format!(
                            "key 'email.smtp' must be {must}: a host and a port only (got \"{s}\")"
                        ),
                    ));
                }
                smtp = Some((url, span));
            }
            "tls" => {
                let s = string("\"starttls\", \"tls\" or \"none\"")?;
                tls = match s.as_str() {
                    "starttls" => TlsMode::StartTls,
                    "tls" => TlsMode::Tls,
                    "none" => TlsMode::None,
                    other => {
                        return Err(err(
                            span,
                            key,
                            format!(
                                "key 'email.tls' must be \"starttls\", \"tls\" or \"none\" (got \"{other}\")"
                            ),
                        ))
                    }
                };
                tls_span = span;
            }
            "user" => user = Some(string("a login name")?),
            "password_env" => {
                let s = string("the name of an environment variable")?;
                let ok = s
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    return Err(err(
                        span,
                        key,
                        format!(
                            "key 'email.password_env' must be the name of an environment variable, \
                             such as \"PODSIFT_SMTP_PASSWORD\" (got \"{s}\")"
                        ),
                    ));
                }
                password_env = Some(s);
            }
            "ca_file" => ca_file = Some(PathBuf::from(string("a path to a PEM file")?)),
            "password" | "pass" | "secret" => {
                return Err(err(
                    k.span(),
                    key,
                    format!(
                        "key 'email.{key}' is not allowed: a password never goes in the profile; \
                         put it in an environment variable and name it, e.g. \
                         password_env = \"PODSIFT_SMTP_PASSWORD\""
                    ),
                ))
            }
            other => {
                let hint = match EMAIL_KEYS
                    .iter()
                    .find(|known| edit_distance(other, known) <= 2)
                {
                    Some(known) => format!("did you mean '{known}'?"),
                    None => format!("known keys: {}", EMAIL_KEYS.join(", ")),
                };
                return Err(err(
                    k.span(),
                    other,
                    format!("unknown key 'email.{other}' ({hint})"),
                ));
            }
        }
    }
    let missing = |key: &str, example: &str| ProfileError {
        line: line_of(text, v.span().start),
        key: Some(format!("email.{key}")),
        message: format!("table [email] is missing required key '{key}' (e.g. {key} = {example})"),
    };
    let to = to.ok_or_else(|| missing("to", "\"me@example.com\""))?;
    let from = from.ok_or_else(|| missing("from", "\"podsift <me@example.com>\""))?;
    let (url, smtp_span) =
        smtp.ok_or_else(|| missing("smtp", "\"smtp://smtp.example.com:587\""))?;
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => unreachable!("checked above: the URL has a host"),
    };
    if tls == TlsMode::None && !is_loopback(&host) {
        return Err(err(
            tls_span,
            "tls",
            format!(
                "key 'email.tls' may be \"none\" only for a relay on a loopback address \
                 (127.0.0.1, ::1, localhost), not '{host}' (line {}): use \"starttls\" or \"tls\"",
                line_of(text, smtp_span.start)
            ),
        ));
    }
    Ok(EmailSettings {
        to,
        from,
        port: url.port().unwrap_or(tls.default_port()),
        host,
        tls,
        user,
        password_env,
        ca_file,
    })
}

/// Whether `host` is a loopback address (or `localhost`).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The brief as one message: `text` (Markdown) and `html` as alternatives.
pub fn compose(settings: &EmailSettings, subject: &str, text: &str, html: &str) -> Result<Message> {
    let bad = |what: &str, e: String| Error::invalid(format!("email.{what}"), e);
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

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
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
pub fn send(settings: &EmailSettings, password: Option<&str>, message: &Message) -> Result<()> {
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
        .map_err(|e| classify(settings, &server, &e).into())
}

/// The certificates of the PEM file `path`.
fn ca_certificate(path: &Path) -> Result<Certificate> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Certificate::from_pem(&pem).map_err(|e| {
        Error::invalid(
            format!("email.ca_file {}", path.display()),
            format!("not a PEM certificate file ({})", clean(&chain(&e))),
        )
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
    use crate::insight::brief::parse_profile;

    const BASE: &str = "interests = [\"chips\"]\n";

    fn email(table: &str) -> Result<EmailSettings, ProfileError> {
        parse_profile(&format!("{BASE}[email]\n{table}"))
            .map(|p| p.email.expect("an [email] table"))
    }

    fn err(table: &str) -> String {
        email(table).expect_err("should be rejected").to_string()
    }

    #[test]
    fn a_full_table_parses() {
        let s = email(
            "to = [\"Ada <ada@example.com>\", \"b@example.com\"]\nfrom = \"podsift <me@example.com>\"\n\
             smtp = \"smtp://mail.example.com\"\ntls = \"tls\"\nuser = \"me\"\n\
             password_env = \"PODSIFT_SMTP_PASSWORD\"\nca_file = \"ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(s.to.len(), 2);
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("mail.example.com", 465, TlsMode::Tls)
        );
        assert_eq!(s.login(), "me");
        assert_eq!(s.password_env.as_deref(), Some("PODSIFT_SMTP_PASSWORD"));
        assert_eq!(s.ca_file, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn defaults_are_starttls_on_587_and_the_from_address_as_login() {
        let s = email(
            "to = \"a@example.com\"\nfrom = \"Me <me@example.com>\"\nsmtp = \"smtp://h.example\"\n",
        )
        .unwrap();
        assert_eq!((s.port, s.tls), (587, TlsMode::StartTls));
        assert_eq!(s.login(), "me@example.com");
        assert_eq!(s.server(), "h.example:587");
        let s = email("to = \"a@example.com\"\nfrom = \"me@example.com\"\nsmtp = \"smtp://[::1]:2525\"\ntls = \"none\"\n")
            .unwrap();
        assert_eq!(
            (s.host.as_str(), s.server()),
            ("::1", "[::1]:2525".to_string())
        );
    }

    #[test]
    fn bad_tables_name_the_line_and_key() {
        let ok = "to = \"a@example.com\"\nfrom = \"me@example.com\"\n";
        assert_eq!(
            err(&format!("{ok}smtp = \"smtp://h.example\"\npassword = \"hunter2\"\n")),
            "line 6: key 'email.password' is not allowed: a password never goes in the profile; \
             put it in an environment variable and name it, e.g. password_env = \"PODSIFT_SMTP_PASSWORD\""
        );
        assert_eq!(
            err(&format!(
                "{ok}smtp = \"smtp://h.example\"\ntls = \"none\"\n"
            )),
            "line 6: key 'email.tls' may be \"none\" only for a relay on a loopback address \
             (127.0.0.1, ::1, localhost), not 'h.example' (line 5): use \"starttls\" or \"tls\""
        );
        assert!(err(&format!("{ok}smtp = \"smtp://u:p@h.example\"\n"))
            .starts_with("line 5: key 'email.smtp' must not hold a user or password"));
        assert!(err(&format!("{ok}smtp = \"https://h.example\"\n")).contains("got scheme 'https'"));
        assert!(
            err(&format!("{ok}smtp = \"smtp://h.example\"\ntls = \"ssl\"\n"))
                .starts_with("line 6: key 'email.tls' must be")
        );
        assert_eq!(
            err(&format!(
                "{ok}smtp = \"smtp://h.example\"\nca_fle = \"x\"\n"
            )),
            "line 6: unknown key 'email.ca_fle' (did you mean 'ca_file'?)"
        );
        assert!(err("to = \"not an address\"\n")
            .starts_with("line 3: key 'email.to': 'not an address' is not an email address"));
        assert_eq!(
            err("to = \"a@example.com\"\n"),
            "line 2: table [email] is missing required key 'from' (e.g. from = \"podsift <me@example.com>\")"
        );
        assert!(err(&format!(
            "{ok}smtp = \"smtp://h.example\"\npassword_env = \"MY VAR\"\n"
        ))
        .contains("must be the name of an environment variable"));
        assert_eq!(
            parse_profile(&format!("{BASE}email = \"me@example.com\"\n"))
                .unwrap_err()
                .to_string(),
            "line 2: key 'email' must be a table ([email] with to, from, smtp) (got \"me@example.com\")"
        );
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.1", "example.com", "localhost.example.com", "::2"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

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
