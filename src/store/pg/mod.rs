//! A shared store in PostgreSQL with pgvector: what many machines' local
//! indexes hold, pushed into one database ([`push`]), and read by many
//! readers (`podsift search --store`, [`crate::rank::pg`]).
//!
//! ```text
//! podsift_migrations   version, name, applied_at: the schema's history
//! podsift_meta         key -> value: model id, fingerprint, dimension
//! shows                one row per show: passage count and token totals
//!                      per field (the keyword arm's collection statistics)
//! episodes             one row per episode: metadata, content hash, index
//!                      generation it was pushed from, the speakers its
//!                      passages name
//! passages             one row per passage: text and metadata, speaker
//!                      words, non-content score, content hash, generation,
//!                      `terms` (tsvector, GIN) and `embedding` (vector(384),
//!                      HNSW on inner product)
//! ```
//!
//! **Keyword arm.** `terms` holds the passage's terms as podsift's own
//! analyzer makes them (lower-cased, ASCII-folded, English stop words
//! dropped, Snowball-stemmed: the local index's terms, not PostgreSQL's
//! `english` configuration, so both sides match the same words), one
//! tsvector for the four fields the local keyword arm scores, told apart by
//! weight label: `A` the passage text, `B` the passage with its neighbours,
//! `C` the episode title, `D` the chapter title. The GIN index finds the
//! passages holding a query term; BM25 is computed over them in SQL with
//! the local arm's field weights, collection statistics from `shows` and
//! lengths quantised as tantivy stores them ([`crate::rank::pg`]).
//!
//! **Migrations** are numbered; `podsift store init` applies the missing
//! ones, each in its own transaction, under an advisory lock (two inits at
//! once wait for each other), and is a no-op on an up-to-date database.
//! Pushes and searches refuse a database whose schema is not the one this
//! podsift knows.

pub mod push;

use std::time::Duration;

use crate::error::{Error, Remedy, Result, Setting};

/// The embedding dimension the schema's `vector` column holds.
pub const DIM: usize = 384;

/// Key of the advisory lock `init` holds while migrating.
const MIGRATION_LOCK: i64 = 0x706f_6473_6966_7431;

/// The schema, in order. A migration is never edited once released: a
/// change is a new one.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "shows, episodes, passages; GIN on terms (HNSW: see HNSW_INDEX)",
        r#"
create extension if not exists vector;
create table podsift_meta (
    key text primary key,
    value text not null
);
create table shows (
    show text primary key,
    episodes bigint not null default 0,
    passages bigint not null default 0,
    tokens_text bigint not null default 0,
    tokens_context bigint not null default 0,
    tokens_title bigint not null default 0,
    tokens_chapter bigint not null default 0,
    updated_at timestamptz not null default now()
);
create table episodes (
    id text primary key,
    show text not null,
    title text not null,
    date text,
    url text,
    file text not null,
    passages integer not null,
    duration_ms bigint not null,
    content_hash text not null,
    generation bigint not null,
    pushed_at timestamptz not null default now()
);
create index episodes_show on episodes (show);
create table passages (
    id bigint primary key,
    episode text not null references episodes (id) on delete cascade,
    show text not null,
    seq bigint not null,
    title text not null,
    chapter text,
    speaker text,
    speaker_terms text[] not null,
    text text not null,
    start_ms bigint,
    end_ms bigint,
    date text,
    date_days integer,
    url text,
    path text not null,
    noncontent integer not null,
    noncontent_base integer not null,
    content_hash text not null,
    generation bigint not null,
    terms tsvector not null,
    len_text integer not null,
    len_context integer not null,
    len_title integer not null,
    len_chapter integer not null,
    norm_text integer not null,
    norm_context integer not null,
    norm_title integer not null,
    norm_chapter integer not null,
    embedding vector(384) not null
);
create index passages_episode on passages (episode, seq);
create index passages_show on passages (show);
create index passages_terms on passages using gin (terms);
"#,
    ),
    (
        2,
        "term_stats: document frequencies per term, show and field",
        // Filled here with the same counts as push.rs's TERM_STATS_UP,
        // spelled again on purpose: a migration is frozen once released,
        // the push's statement may change with the schema.
        r#"
create table term_stats (
    term text not null,
    show text not null,
    df_text integer not null,
    df_context integer not null,
    df_title integer not null,
    df_chapter integer not null,
    primary key (term, show)
);
insert into term_stats
select u.lexeme, p.show,
       count(*) filter (where 'A' = any(u.weights)),
       count(*) filter (where 'B' = any(u.weights)),
       count(*) filter (where 'C' = any(u.weights)),
       count(*) filter (where 'D' = any(u.weights))
from passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights)
group by u.lexeme, p.show;
"#,
    ),
    (
        3,
        "postings: the keyword arm's inverted index (term, passage, per-field frequency and length)",
        // Filled here as push.rs's POSTINGS_UP fills it (frozen copy, as
        // migration 2). No foreign key to passages: a cascade would scan
        // postings per deleted passage; the push deletes a passage's
        // postings by primary key, from the passage's own terms, first.
        r#"
create table postings (
    term text not null,
    passage bigint not null,
    tf_text smallint not null,
    tf_context smallint not null,
    tf_title smallint not null,
    tf_chapter smallint not null,
    norm_text integer not null,
    norm_context integer not null,
    norm_title integer not null,
    norm_chapter integer not null,
    primary key (term, passage)
);
insert into postings
select u.lexeme, p.id,
       coalesce(cardinality(array_positions(u.weights, 'A')), 0),
       coalesce(cardinality(array_positions(u.weights, 'B')), 0),
       coalesce(cardinality(array_positions(u.weights, 'C')), 0),
       coalesce(cardinality(array_positions(u.weights, 'D')), 0),
       p.norm_text, p.norm_context, p.norm_title, p.norm_chapter
from passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights)
order by 1, 2;
analyze postings;
"#,
    ),
    (
        4,
        "episodes.speakers: the speakers each episode's passages name (a show's hosts)",
        // Filled as push.rs's SPEAKERS_UP fills it (frozen copy).
        r#"
alter table episodes add column speakers text[];
update episodes e set speakers = coalesce(
    (select array_agg(distinct p.speaker order by p.speaker)
     from passages p where p.episode = e.id and p.speaker is not null),
    '{}');
"#,
    ),
];

/// The HNSW index of the semantic arm, made by `init` unless told not to
/// (kept out of the migrations so that a store can do without: a small
/// store searched by exact scan).
pub const HNSW_INDEX: &str =
    "create index if not exists passages_embedding on passages using hnsw (embedding vector_ip_ops)";

/// The schema version this podsift reads and writes.
pub fn schema_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// A connection to a PostgreSQL store.
pub struct Db {
    client: postgres::Client,
    url: String,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("url", &self.url).finish()
    }
}

/// `url` with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // A URL that does not parse: hide what may be a password.
        Err(_) if url.contains("://") => {
            let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
            match rest.rsplit_once('@') {
                Some((user, host)) if user.contains(':') => {
                    let name = user.split(':').next().unwrap_or("");
                    format!("{scheme}://{name}:***@{host}")
                }
                _ => url.to_string(),
            }
        }
        // Not a URL: a key=value string may hold `password=`.
        Err(_) => url
            .split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl Db {
    /// Connect to `url` (`postgres://USER@HOST:PORT/DB`; a connect timeout
    /// of 10 s unless the URL sets one). TLS is not offered: connect over a
    /// private network or an SSH tunnel.
    pub fn connect(url: &str) -> Result<Db> {
        let shown = redact(url);
        let mut config: postgres::Config = url.parse().map_err(|e| Error::Postgres {
            url: shown.clone(),
            what: "reading the URL",
            source: e,
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("podsift");
        let client = config
            .connect(postgres::NoTls)
            .map_err(|e| Error::Postgres {
                url: shown.clone(),
                what: "connecting",
                source: e,
            })?;
        Ok(Db { client, url: shown })
    }

    /// The URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client, for the modules that query.
    pub fn client(&mut self) -> &mut postgres::Client {
        &mut self.client
    }

    /// Apply the migrations the database lacks; returns the versions
    /// applied (empty when it was up to date). `reader`: a role that may
    /// log in and read, made when missing and granted `select` on the
    /// tables. `hnsw`: make the HNSW index ([`HNSW_INDEX`]) if missing.
    pub fn init(&mut self, reader: Option<&str>, hnsw: bool) -> Result<Vec<i32>> {
        if let Some(r) = reader {
            check_role_name(r)?;
        }
        let url = self.url.clone();
        let fail = |what: &'static str| fail(&url, what);
        self.client
            .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .map_err(fail("taking the migration lock"))?;
        let applied = self.migrate();
        let unlock = self
            .client
            .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .map_err(fail("releasing the migration lock"));
        let applied = applied?;
        unlock?;
        if hnsw {
            self.client
                .batch_execute(HNSW_INDEX)
                .map_err(fail("making the HNSW index"))?;
        }
        if let Some(role) = reader {
            let grant = format!(
                r#"do $$ begin
                     if not exists (select from pg_roles where rolname = '{role}') then
                       create role "{role}" login;
                     end if;
                     execute format('grant connect on database %I to "{role}"', current_database());
                   end $$;
                   grant usage on schema public to "{role}";
                   grant select on all tables in schema public to "{role}";
                   alter default privileges in schema public grant select on tables to "{role}";"#
            );
            self.client
                .batch_execute(&grant)
                .map_err(fail("making the read-only role"))?;
        }
        Ok(applied)
    }

    fn migrate(&mut self) -> Result<Vec<i32>> {
        let url = self.url.clone();
        let fail = |what: &'static str| fail(&url, what);
        self.client
            .batch_execute(
                "create table if not exists podsift_migrations (
                     version integer primary key,
                     name text not null,
                     applied_at timestamptz not null default now())",
            )
            .map_err(fail("making the migrations table"))?;
        let have = self.version()?;
        if have > schema_version() {
            return Err(Error::StoreSchema {
                url: self.url.clone(),
                message: format!(
                    "its schema is version {have}, newer than this podsift's {}; upgrade podsift",
                    schema_version()
                ),
                remedy: None,
            });
        }
        let mut applied = Vec::new();
        for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > have) {
            let mut tx = self
                .client
                .transaction()
                .map_err(fail("starting a migration"))?;
            tx.batch_execute(sql).map_err(fail("migrating"))?;
            tx.execute(
                "insert into podsift_migrations (version, name) values ($1, $2)",
                &[&version, &name],
            )
            .map_err(fail("recording a migration"))?;
            tx.commit().map_err(fail("committing a migration"))?;
            applied.push(version);
        }
        Ok(applied)
    }

    /// The schema version applied (0 for none).
    pub fn version(&mut self) -> Result<i32> {
        let url = self.url.clone();
        let fail = |source| Error::Postgres {
            url: url.clone(),
            what: "reading the schema version",
            source,
        };
        let exists: bool = self
            .client
            .query_one("select to_regclass('podsift_migrations') is not null", &[])
            .map_err(fail)?
            .get(0);
        if !exists {
            return Ok(0);
        }
        let row = self
            .client
            .query_one(
                "select coalesce(max(version), 0) from podsift_migrations",
                &[],
            )
            .map_err(fail)?;
        Ok(row.get(0))
    }

    /// Fail unless the schema is the one this podsift knows.
    pub fn check_schema(&mut self) -> Result<()> {
        let have = self.version()?;
        if have == schema_version() {
            return Ok(());
        }
        let (message, remedy) = if have < schema_version() {
            (
                format!("its schema is version {have}, not {}", schema_version()),
                Some(Remedy::InitStore),
            )
        } else {
            (
                format!(
                    "its schema is version {have}, newer than this podsift's {}; upgrade podsift",
                    schema_version()
                ),
                None,
            )
        };
        Err(Error::StoreSchema {
            url: self.url.clone(),
            message,
            remedy,
        })
    }

    /// A value of `podsift_meta`.
    pub fn meta(&mut self, key: &str) -> Result<Option<String>> {
        let url = self.url.clone();
        let row = self
            .client
            .query_opt("select value from podsift_meta where key = $1", &[&key])
            .map_err(|source| Error::Postgres {
                url,
                what: "reading podsift_meta",
                source,
            })?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Episode ids in the store, sorted (for `--episode` suffixes).
    pub fn episode_ids(&mut self) -> Result<Vec<String>> {
        let url = self.url.clone();
        let rows = self
            .client
            .query("select id from episodes order by id", &[])
            .map_err(|source| Error::Postgres {
                url,
                what: "listing episodes",
                source,
            })?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// Appends `term` to `out` as a quoted tsvector/tsquery lexeme (`'…'`,
/// a quote doubled, a backslash escaped), as PostgreSQL's text input reads
/// it; the passages' lexemes and the query's terms are quoted alike.
pub fn push_lexeme(out: &mut String, term: &str) {
    out.push('\'');
    for ch in term.chars() {
        match ch {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// An error-mapping closure: the store at `url` failed at `what`.
pub fn fail(url: &str, what: &'static str) -> impl FnOnce(postgres::Error) -> Error {
    let url = url.to_string();
    move |source| Error::Postgres { url, what, source }
}

/// Role names are interpolated into SQL: letters, digits and `_` only.
fn check_role_name(role: &str) -> Result<()> {
    let ok = !role.is_empty()
        && role.len() <= 63
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !role.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::setting(
            Setting::ReaderRole,
            format!("'{role}' is not a role name (lower-case letters, digits and _)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://u:secret@h:notaport/db"),
            "postgres://u:***@h:notaport/db"
        );
        assert_eq!(
            redact("host=h password=secret user=u"),
            "host=h password=*** user=u"
        );
    }

    #[test]
    fn role_names_are_checked() {
        assert!(check_role_name("podsift_reader").is_ok());
        for bad in ["", "Reader", "a\"b", "1a", "a b", "x;drop"] {
            assert!(check_role_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0, i as i32 + 1);
        }
        assert_eq!(schema_version(), MIGRATIONS.len() as i32);
    }

    #[test]
    fn a_bad_url_is_a_clean_error() {
        let e = Db::connect("postgres://u@h:notaport/db").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Postgres {
                    what: "reading the URL",
                    ..
                }
            ),
            "{e}"
        );
    }
}
