//! The personalised brief's inputs: a profile (what the reader cares
//! about) and a state file (what was already sent).
//!
//! Choosing the insights is [`super::top`]'s job, finding their related
//! passages [`super::related`]'s and rendering them
//! [`crate::output::brief`]'s; this module only parses and remembers. It
//! never prints and never reads the clock: the caller passes `now`.
//!
//! ## Profile (TOML)
//!
//! ```toml
//! interests = ["why cloud companies build their own AI chips", "developer tools"]  # required
//! follow = ["the-changelog"]   # optional: only these shows
//! mute = ["some-show"]         # optional: never these shows
//! related = 3                  # related insights per insight, 0 to 10 (default 3)
//! n = 5                        # insights per brief, 1 to 50 (default 5)
//! since = "7d"                 # optional: YYYY-MM-DD or a span (7d, 4w, 6m, 1y)
//!
//! [email]                      # optional: for `brief --send` (see crate::mail)
//! to = "me@example.com"
//! from = "podsift <me@example.com>"
//! smtp = "smtp://smtp.example.com:587"
//! tls = "starttls"             # or "tls" (implicit), "none" (loopback relay only)
//! password_env = "PODSIFT_SMTP_PASSWORD"
//! ```
//!
//! Unknown keys are errors (a typo such as `intrests` must not silently drop
//! the reader's interests). Every error names its 1-based line and the key.
//!
//! ## State (`brief-state.json`, in the index folder)
//!
//! `{"version": 1, "last_brief": "2026-11-28T07:00:00Z", "sent": [u64, ...],
//! "covered": ["episode id", ...]}`: the chunk ids sent as insights and the
//! episodes they came from. The next brief skips both, so it never repeats an
//! insight and never returns to an episode it already covered. Related
//! passages are not recorded: they come from the whole archive and may recur.

pub mod email;
mod profile;
mod state;

pub use profile::{parse_profile, Profile, ProfileError};
pub use state::BriefState;
