//! Sign-ins checked in the last moment, so that a burst of requests with one token reads
//! its user, and the scope of its agency, once rather than once per request.
//!
//! What changes a sign-in or a scope on this instance (a logout, a user's password or
//! status, a succession, which moves coordination too) empties the store at once
//! ([`forget_all`]); a look-up that began before such a change never stores its older
//! answer. A change made elsewhere — another instance, the command line, SQL — reaches
//! this instance within [`REUSE_FOR`].
use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;

use super::{
    ServiceResult,
    auth::{self, Principal},
    tenancy::SubmissionScope,
};

/// How long a checked sign-in is taken on trust.
pub const REUSE_FOR: Duration = Duration::from_secs(1);
/// At most this many sign-ins are kept (only valid ones are ever stored, so junk tokens
/// cannot fill it); past it, the stale ones go, or everything.
const CAPACITY: usize = 10_000;

/// The sign-ins of this process, by token hash.
static RECENT: LazyLock<Mutex<SignIns>> = LazyLock::new(|| Mutex::new(SignIns::default()));

/// A signed-in principal and the scope of its submissions.
pub type SignIn = (Principal, SubmissionScope);

/// The principal and scope a bearer token stands for, as checked within the last
/// [`REUSE_FOR`]: `Unauthenticated` for a token that is unknown, expired, revoked or
/// whose user is disabled (refusals are never kept).
pub async fn check<C: ConnectionTrait>(db: &C, token: &str) -> ServiceResult<SignIn> {
    let hash = auth::token_hash(token);
    let generation = match find(&hash) {
        Recent::Found(sign_in) => return Ok(sign_in),
        Recent::Missing(generation) => generation,
    };
    let principal = auth::principal_of(db, hash.clone()).await?;
    let scope = SubmissionScope::of(db, &principal).await?;
    keep(generation, hash, (principal.clone(), scope.clone()));
    Ok((principal, scope))
}

/// What a look-up found: the sign-in, or the generation to store an answer under.
enum Recent {
    Found(SignIn),
    Missing(Generation),
}

/// Changes each time the store is emptied: an answer read under an older one is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Generation(u64);

#[derive(Default)]
struct SignIns {
    generation: u64,
    entries: HashMap<String, (Instant, SignIn)>,
}

impl SignIns {
    fn find(&self, token_hash: &str, now: Instant) -> Recent {
        match self.entries.get(token_hash) {
            Some((checked, sign_in)) if now.duration_since(*checked) < REUSE_FOR => {
                Recent::Found(sign_in.clone())
            }
            _ => Recent::Missing(Generation(self.generation)),
        }
    }

    fn keep(&mut self, generation: Generation, token_hash: String, sign_in: SignIn, now: Instant) {
        if generation.0 != self.generation {
            return;
        }
        if self.entries.len() >= CAPACITY {
            self.entries
                .retain(|_, (checked, _)| now.duration_since(*checked) < REUSE_FOR);
            if self.entries.len() >= CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(token_hash, (now, sign_in));
    }

    fn forget_all(&mut self) {
        self.generation += 1;
        self.entries.clear();
    }
}

fn recent() -> std::sync::MutexGuard<'static, SignIns> {
    RECENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The sign-in of a token checked less than [`REUSE_FOR`] ago.
fn find(token_hash: &str) -> Recent {
    recent().find(token_hash, Instant::now())
}

/// Keeps a sign-in just read from the database, unless the store was emptied since the
/// look-up that missed (`generation`) began.
fn keep(generation: Generation, token_hash: String, sign_in: SignIn) {
    recent().keep(generation, token_hash, sign_in, Instant::now());
}

/// Forgets every sign-in: call once a change to tokens, users or successions commits.
pub fn forget_all() {
    recent().forget_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::domain::Role;

    fn principal(user_id: i64) -> SignIn {
        let principal = Principal {
            user_id,
            username: format!("user{user_id}"),
            agency_id: 1,
            role: Role::Editor,
            agency_succeeds_another: false,
            agency_receives_reports: false,
        };
        let scope = SubmissionScope::own_agency(&principal);
        (principal, scope)
    }

    /// The generation a look-up of a token the store lacks answers with.
    fn missing(store: &SignIns, token_hash: &str, now: Instant) -> Generation {
        match store.find(token_hash, now) {
            Recent::Missing(generation) => generation,
            Recent::Found(_) => panic!("{token_hash} is not kept yet"),
        }
    }

    fn found(recent: Recent) -> Option<i64> {
        match recent {
            Recent::Found((principal, _)) => Some(principal.user_id),
            Recent::Missing(_) => None,
        }
    }

    #[test]
    fn a_sign_in_is_reused_only_briefly() {
        let mut store = SignIns::default();
        let start = Instant::now();
        let generation = missing(&store, "t", start);
        store.keep(generation, "t".into(), principal(7), start);
        assert_eq!(found(store.find("t", start + REUSE_FOR / 2)), Some(7));
        assert_eq!(found(store.find("t", start + REUSE_FOR)), None);
        assert_eq!(found(store.find("other", start)), None);
    }

    #[test]
    fn an_answer_read_before_a_change_is_not_kept() {
        let mut store = SignIns::default();
        let now = Instant::now();
        let before_logout = missing(&store, "t", now);
        store.keep(before_logout, "u".into(), principal(1), now);
        // A logout commits while the first look-up is still reading the database.
        store.forget_all();
        assert_eq!(found(store.find("u", now)), None, "forgotten at once");
        store.keep(before_logout, "t".into(), principal(2), now);
        assert_eq!(
            found(store.find("t", now)),
            None,
            "the older answer is dropped"
        );
    }

    #[test]
    fn the_store_stays_bounded() {
        let mut store = SignIns::default();
        let now = Instant::now();
        for i in 0..CAPACITY + 5 {
            let generation = missing(&store, &i.to_string(), now);
            store.keep(generation, i.to_string(), principal(1), now);
        }
        assert!(store.entries.len() <= CAPACITY);
    }
}
