//! The `[email]` table of a brief profile (see [`super`]'s doc and
//! [`crate::mail`], which sends the brief with it): parsing and
//! validation, in the profile parser's style (keys are reported as
//! `email.KEY`, with the 1-based line).

use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr;

use lettre::message::Mailbox;
use toml::de::DeValue;
use toml::Spanned;

use super::profile::{edit_distance, kind, line_of, ProfileError};

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

/// The settings found so far, key by key, and where `tls` was set.
struct Found {
    to: Option<Vec<String>>,
    from: Option<String>,
    smtp: Option<(url::Url, Range<usize>)>,
    tls: TlsMode,
    tls_span: Range<usize>,
    user: Option<String>,
    password_env: Option<String>,
    ca_file: Option<PathBuf>,
}

/// One `KEY = value` of the table, for its error messages.
struct Entry<'a, 'v> {
    text: &'a str,
    key: &'a str,
    val: &'a Spanned<DeValue<'v>>,
}

impl Entry<'_, '_> {
    /// An error at `span` about this key.
    fn err_at(&self, span: Range<usize>, message: String) -> ProfileError {
        key_error(self.text, span, self.key, message)
    }

    /// An error at the value.
    fn err(&self, message: String) -> ProfileError {
        self.err_at(self.val.span(), message)
    }

    /// The value as a non-empty trimmed string, else an error saying it
    /// must be `what`.
    fn string(&self, what: &str) -> Result<String, ProfileError> {
        let key = self.key;
        match self.val.get_ref().as_str().map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            Some(_) => Err(self.err(format!(
                "key 'email.{key}' must be {what} (got an empty string)"
            ))),
            None => Err(self.err(format!(
                "key 'email.{key}' must be {what} (got {})",
                kind(self.val.get_ref())
            ))),
        }
    }

    /// `s` is an email address (`Name <addr>` or `addr`).
    fn mailbox(&self, s: &str) -> Result<(), ProfileError> {
        Mailbox::from_str(s).map(|_| ()).map_err(|e| {
            self.err(format!(
                "key 'email.{}': '{s}' is not an email address ({e})",
                self.key
            ))
        })
    }
}

/// A [`ProfileError`] at `span` of `text` about `email.KEY`.
fn key_error(text: &str, span: Range<usize>, key: &str, message: String) -> ProfileError {
    ProfileError {
        line: line_of(text, span.start),
        key: Some(format!("email.{key}")),
        message,
    }
}

/// Validate the `[email]` table `v` of the profile `text` (for line numbers).
/// Keys are reported as `email.KEY`, in the profile parser's style.
pub fn parse_settings(text: &str, v: &Spanned<DeValue<'_>>) -> Result<EmailSettings, ProfileError> {
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
    let mut found = Found {
        to: None,
        from: None,
        smtp: None,
        tls: TlsMode::StartTls,
        tls_span: v.span(),
        user: None,
        password_env: None,
        ca_file: None,
    };
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (k, val) in entries {
        read_entry(text, k, val, &mut found)?;
    }
    settings(text, v, found)
}

/// Check one `KEY = value` of the table into `found`.
fn read_entry(
    text: &str,
    k: &Spanned<std::borrow::Cow<'_, str>>,
    val: &Spanned<DeValue<'_>>,
    found: &mut Found,
) -> Result<(), ProfileError> {
    let key = k.get_ref().as_ref();
    let e = Entry { text, key, val };
    match key {
        "to" => found.to = Some(to(&e)?),
        "from" => {
            let s = e.string("an address such as \"podsift <me@example.com>\"")?;
            e.mailbox(&s)?;
            found.from = Some(s);
        }
        "smtp" => found.smtp = Some((smtp(&e)?, val.span())),
        "tls" => {
            found.tls = tls(&e)?;
            found.tls_span = val.span();
        }
        "user" => found.user = Some(e.string("a login name")?),
        "password_env" => found.password_env = Some(password_env(&e)?),
        "ca_file" => found.ca_file = Some(PathBuf::from(e.string("a path to a PEM file")?)),
        "password" | "pass" | "secret" => {
            return Err(e.err_at(
                k.span(),
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
            return Err(e.err_at(k.span(), format!("unknown key 'email.{other}' ({hint})")));
        }
    }
    Ok(())
}

/// `to`: one address or a non-empty array of them.
fn to(e: &Entry<'_, '_>) -> Result<Vec<String>, ProfileError> {
    let must = "an address or an array of addresses";
    let list = match e.val.get_ref() {
        DeValue::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item.get_ref().as_str().map(str::trim) {
                    Some(s) if !s.is_empty() => out.push(s.to_string()),
                    _ => {
                        return Err(e.err_at(
                            item.span(),
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
        _ => vec![e.string(must)?],
    };
    if list.is_empty() {
        return Err(e.err(format!(
            "key 'email.to' must be {must} (got an empty array)"
        )));
    }
    for s in &list {
        e.mailbox(s)?;
    }
    Ok(list)
}

/// `smtp`: an `smtp://` URL with a host and a port only.
fn smtp(e: &Entry<'_, '_>) -> Result<url::Url, ProfileError> {
    let must = "a URL such as \"smtp://smtp.example.com:587\"";
    let s = e.string(must)?;
    let url = url::Url::parse(&s).map_err(|err| {
        e.err(format!(
            "key 'email.smtp' must be {must} (got \"{s}\": {err})"
        ))
    })?;
    if url.scheme() != "smtp" {
        return Err(e.err(format!(
            "key 'email.smtp' must be {must} (got scheme '{}'; say tls = \"tls\" for implicit TLS)",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(e.err(
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
        return Err(e.err(format!(
            "key 'email.smtp' must be {must}: a host and a port only (got \"{s}\")"
        )));
    }
    Ok(url)
}

/// `tls`: `starttls`, `tls` or `none`.
fn tls(e: &Entry<'_, '_>) -> Result<TlsMode, ProfileError> {
    let s = e.string("\"starttls\", \"tls\" or \"none\"")?;
    match s.as_str() {
        "starttls" => Ok(TlsMode::StartTls),
        "tls" => Ok(TlsMode::Tls),
        "none" => Ok(TlsMode::None),
        other => Err(e.err(format!(
            "key 'email.tls' must be \"starttls\", \"tls\" or \"none\" (got \"{other}\")"
        ))),
    }
}

/// `password_env`: the name of an environment variable.
fn password_env(e: &Entry<'_, '_>) -> Result<String, ProfileError> {
    let s = e.string("the name of an environment variable")?;
    let ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(e.err(format!(
            "key 'email.password_env' must be the name of an environment variable, \
             such as \"PODSIFT_SMTP_PASSWORD\" (got \"{s}\")"
        )));
    }
    Ok(s)
}

/// The settings from what the table held: the required keys present and
/// `tls = "none"` only for a loopback relay.
fn settings(
    text: &str,
    v: &Spanned<DeValue<'_>>,
    found: Found,
) -> Result<EmailSettings, ProfileError> {
    let missing = |key: &str, example: &str| ProfileError {
        line: line_of(text, v.span().start),
        key: Some(format!("email.{key}")),
        message: format!("table [email] is missing required key '{key}' (e.g. {key} = {example})"),
    };
    let to = found
        .to
        .ok_or_else(|| missing("to", "\"me@example.com\""))?;
    let from = found
        .from
        .ok_or_else(|| missing("from", "\"podsift <me@example.com>\""))?;
    let (url, smtp_span) = found
        .smtp
        .ok_or_else(|| missing("smtp", "\"smtp://smtp.example.com:587\""))?;
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => unreachable!("checked above: the URL has a host"),
    };
    let tls = found.tls;
    if tls == TlsMode::None && !is_loopback(&host) {
        return Err(key_error(
            text,
            found.tls_span,
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
        user: found.user,
        password_env: found.password_env,
        ca_file: found.ca_file,
    })
}

/// Whether `host` is a loopback address (or `localhost`).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The settings of a profile whose `[email]` table is `table` (for the
/// tests of these settings and of the mail they configure).
#[cfg(test)]
pub(crate) fn test_settings(table: &str) -> Result<EmailSettings, ProfileError> {
    let profile = format!("interests = [\"chips\"]\n[email]\n{table}");
    crate::insight::brief::parse_profile(&profile).map(|p| p.email.expect("an [email] table"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::brief::parse_profile;

    const BASE: &str = "interests = [\"chips\"]\n";

    fn email(table: &str) -> Result<EmailSettings, ProfileError> {
        test_settings(table)
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
}
