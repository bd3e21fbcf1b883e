//! Identity: users, password hashes, bearer tokens and the principal they stand for.
use std::{net::IpAddr, sync::LazyLock};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use entity::{agency, agency_succession, api_token, plan_recipient, user};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    IntoActiveModel, PaginatorTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, LockType, Query},
};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::{
    ServiceError, ServiceResult,
    audit::{self, Change},
    catalog,
    domain::{Role, parse_stored},
    sign_ins,
    throttle::LoginThrottle,
    timeline,
};

/// Who is asking: a signed-in user, acting for one agency, in one role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub agency_id: i64,
    pub role: Role,
    /// Whether the agency took over another's work (a succession in effect): only then
    /// does its scope need the chain of predecessors looked up.
    pub agency_succeeds_another: bool,
    /// Whether the principal's agency receives some plan's reports (`plan_recipient`),
    /// so that its scope looks the plans up.
    pub agency_receives_reports: bool,
}

impl Principal {
    pub fn require_role(&self, roles: &[Role]) -> ServiceResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!(
                "this needs one of the roles {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// How long a sign-in lasts.
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);

const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted anywhere, checked before any hashing: argon2's work
/// grows with the input, and nobody types more.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Password hashes computed at once: argon2 takes a core and 19 MiB each, so a flood of
/// sign-ins waits for a slot instead of starving every other request.
static HASHING_SLOTS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// What unknown and disabled users' sign-ins are verified against, so that they take as
/// long as a wrong password for a real user.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_now(&random_password()).expect("hashing a random password"));

fn within_max_length(password: &str) -> ServiceResult<()> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ServiceError::bad_input(format!(
            "a password has at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Checks a new password's length, before any hashing.
fn valid_new_password(password: &str) -> ServiceResult<()> {
    within_max_length(password)?;
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::bad_input(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Runs argon2 work on the blocking pool, one hashing slot at a time.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    let slot = HASHING_SLOTS
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(format!("hashing slots: {e}")))?;
    tokio::task::spawn_blocking(move || {
        // Held until the hash is done, even when the request that asked is gone.
        let _slot = slot;
        work()
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("hashing task: {e}")))
}

/// Hashes a new password (8 to 256 characters).
pub async fn hash_password(password: &str) -> ServiceResult<String> {
    valid_new_password(password)?;
    let password = password.to_owned();
    hashing(move || hash_now(&password)).await?
}

fn hash_now(password: &str) -> ServiceResult<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| ServiceError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServiceError::Internal(format!("hashing: {e}")))
}

/// Whether `password` matches `hash`; without a hash (unknown or disabled user), the same
/// work against a dummy hash, and false.
async fn verify_password(password: &str, hash: Option<String>) -> ServiceResult<bool> {
    let password = password.to_owned();
    hashing(move || {
        let matches = verify_now(&password, hash.as_deref().unwrap_or(&DUMMY_HASH));
        matches && hash.is_some()
    })
    .await
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password for generated accounts.
pub fn random_password() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>())
}

pub(super) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A fresh sign-in: the token (shown once, stored only as a hash) and its user.
pub struct SignIn {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
}

/// Checks a username and password and issues a token. Unknown users, disabled users and
/// wrong passwords answer alike and take the same work, so that usernames cannot be
/// probed; attempts are throttled per username and per client address (`client`, where
/// the transport knows it), right password or not.
#[tracing::instrument(skip_all)]
pub async fn login(
    db: &DatabaseConnection,
    throttle: &LoginThrottle,
    username: &str,
    password: &str,
    client: Option<IpAddr>,
) -> ServiceResult<SignIn> {
    within_max_length(password)?;
    let username = username.trim();
    throttle.attempt(username, client)?;
    let user = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?
        .filter(|user| !user.disabled);
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    let verified = verify_password(password, hash).await?;
    let user = match user {
        Some(user) if verified => user,
        _ => return Err(ServiceError::WrongCredentials),
    };
    // The password was checked outside any transaction (hashing is slow), and a reset,
    // a change or a disabling may have committed since, revoking every token: the token
    // is issued only if the user row is still the one checked, read again under a lock
    // that such a change waits for (so that its revocation sees the token).
    let txn = crate::db::begin_write(db).await?;
    let unchanged = user::Entity::find_by_id(user.id)
        .lock_shared()
        .one(&txn)
        .await?
        .is_some_and(|now| !now.disabled && now.password_hash == user.password_hash);
    if !unchanged {
        return Err(ServiceError::WrongCredentials);
    }
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let now = Utc::now();
    let expires_at = now + TOKEN_LIFETIME;
    api_token::Entity::insert(api_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(SignIn {
        token,
        expires_at,
        user,
    })
}

/// The principal a bearer token stands for, by the token's hash (`sign_ins::check` asks,
/// and keeps the answer briefly); expired, revoked, unknown tokens and disabled users are
/// refused alike.
#[tracing::instrument(skip_all, level = "debug")]
pub(super) async fn principal_of<C: ConnectionTrait>(
    db: &C,
    hash: String,
) -> ServiceResult<Principal> {
    // One statement: the enabled user holding a live token with this hash.
    let live_token = Query::select()
        .column(api_token::Column::UserId)
        .from(api_token::Entity)
        .and_where(api_token::Column::TokenHash.eq(hash))
        .and_where(api_token::Column::RevokedAt.is_null())
        .and_where(api_token::Column::ExpiresAt.gt(Utc::now()))
        .to_owned();
    #[derive(FromQueryResult)]
    struct SignedIn {
        id: i64,
        username: String,
        agency_id: i64,
        role: String,
        succeeds: bool,
        receives: bool,
    }
    let succeeds: Expr = Expr::case(
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(agency_succession::Entity)
                .and_where(
                    Expr::col((
                        agency_succession::Entity,
                        agency_succession::Column::SuccessorId,
                    ))
                    .equals((user::Entity, user::Column::AgencyId)),
                )
                .and_where(
                    Expr::col((
                        agency_succession::Entity,
                        agency_succession::Column::EffectiveOn,
                    ))
                    .lte(timeline::today()),
                )
                .to_owned(),
        ),
        true,
    )
    .finally(false)
    .into();
    let receives: Expr = Expr::case(
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(plan_recipient::Entity)
                .and_where(
                    Expr::col((plan_recipient::Entity, plan_recipient::Column::AgencyId))
                        .equals((user::Entity, user::Column::AgencyId)),
                )
                .to_owned(),
        ),
        true,
    )
    .finally(false)
    .into();
    let user = user::Entity::find()
        .select_only()
        .columns([
            user::Column::Id,
            user::Column::Username,
            user::Column::AgencyId,
            user::Column::Role,
        ])
        .column_as(succeeds, "succeeds")
        .column_as(receives, "receives")
        .filter(user::Column::Id.in_subquery(live_token))
        .filter(user::Column::Disabled.eq(false))
        .into_model::<SignedIn>()
        .one(db)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    Ok(Principal {
        user_id: user.id,
        agency_id: user.agency_id,
        role: parse_stored(&user.role)?,
        username: user.username,
        agency_succeeds_another: user.succeeds,
        agency_receives_reports: user.receives,
    })
}

/// Revokes the token the request came with.
#[tracing::instrument(skip_all)]
pub async fn logout<C: ConnectionTrait>(db: &C, token: &str) -> ServiceResult<()> {
    // One statement, and only a live token: of two logouts at once with one token, the
    // second finds it revoked, as it would one after the other.
    let revoked = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_token::Column::TokenHash.eq(token_hash(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if revoked.rows_affected == 0 {
        return Err(ServiceError::Unauthenticated);
    }
    sign_ins::forget_all();
    Ok(())
}

pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub agency_code: String,
    pub role: Role,
    pub password: String,
}

pub(super) fn valid_username(username: &str) -> ServiceResult<String> {
    let username = username.trim();
    let ok = (3..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(username.to_owned())
    } else {
        Err(ServiceError::bad_input(
            "a username is 3 to 64 characters of letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Creates a user. `actor` is None for the command line and first start.
#[tracing::instrument(skip_all)]
pub async fn create_user(
    db: &DatabaseConnection,
    actor: Option<&Principal>,
    new: NewUser,
) -> ServiceResult<user::Model> {
    if let Some(actor) = actor {
        actor.require_role(&[Role::Admin])?;
    }
    let username = valid_username(&new.username)?;
    let agency: agency::Model = catalog::agency_by_code(db, &new.agency_code)
        .await?
        .ok_or_else(|| {
            ServiceError::bad_input(format!("no agency has the code `{}`", new.agency_code))
        })?;
    if matches!(new.role, Role::Viewer | Role::Editor | Role::Coordinator) && !agency.is_tenant {
        // A plan's report recipient (the Ministry) has readers, though it reports nothing.
        let recipient = plan_recipient::Entity::find()
            .filter(plan_recipient::Column::AgencyId.eq(agency.id))
            .one(db)
            .await?
            .is_some();
        if !(recipient && new.role == Role::Viewer) {
            return Err(ServiceError::bad_input(if recipient {
                format!(
                    "`{}` is not a tenant agency: as a plan's report recipient it has VIEWER \
                     staff only",
                    agency.code
                )
            } else {
                format!(
                    "`{}` is not a tenant agency, so it has no {} staff",
                    agency.code,
                    new.role.as_str()
                )
            }));
        }
    }
    let password_hash = hash_password(&new.password).await?;
    let txn = crate::db::begin_write(db).await?;
    let taken = ServiceError::bad_input(format!("the username `{username}` is taken"));
    if user::Entity::find()
        .filter(user::Column::Username.eq(&username))
        .count(&txn)
        .await?
        > 0
    {
        return Err(taken);
    }
    let created = user::Entity::insert(user::ActiveModel {
        agency_id: Set(agency.id),
        display_name: Set(new.display_name.unwrap_or_else(|| username.clone())),
        username: Set(username),
        role: Set(new.role.as_str().to_owned()),
        password_hash: Set(password_hash),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await
    // Another admin's user of the same name committed after the check above.
    .map_err(|err| ServiceError::unless_unique(err, taken))?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "user",
            entity_id: created.id,
            agency_id: None,
            action: "create",
            before: None,
            after: Some(user_view(&created)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// What the audit log keeps of a user: never the password hash.
fn user_view(user: &user::Model) -> serde_json::Value {
    serde_json::json!({
        "username": user.username,
        "agencyId": user.agency_id,
        "role": user.role,
        "disabled": user.disabled,
    })
}

/// Sets a new password (admin only) and ends every sign-in of the user.
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    db: &DatabaseConnection,
    actor: &Principal,
    username: &str,
    password: &str,
) -> ServiceResult<user::Model> {
    actor.require_role(&[Role::Admin])?;
    let hash = hash_password(password).await?;
    let change = |u: &mut user::ActiveModel| u.password_hash = Set(hash);
    let action = "reset_password";
    update_user(db, actor, username, action, change, EndTokens::All, None).await
}

/// The signed-in user changes their own password, giving the current one again (a wrong
/// one counts as a sign-in attempt). Every other sign-in of the user ends; the one that
/// asked (`token`) keeps working.
#[tracing::instrument(skip_all)]
pub async fn change_password(
    db: &DatabaseConnection,
    throttle: &LoginThrottle,
    actor: &Principal,
    token: &str,
    passwords: PasswordChange<'_>,
) -> ServiceResult<()> {
    within_max_length(passwords.old)?;
    valid_new_password(passwords.new)?;
    throttle.attempt(&actor.username, passwords.client)?;
    let current = user::Entity::find_by_id(actor.user_id)
        .one(db)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    if !verify_password(passwords.old, Some(current.password_hash.clone())).await? {
        return Err(ServiceError::WrongPassword);
    }
    let hash = hash_password(passwords.new).await?;
    let change = |u: &mut user::ActiveModel| u.password_hash = Set(hash);
    let end = EndTokens::AllBut(token);
    let checked = Some(current.password_hash.as_str());
    update_user(
        db,
        actor,
        &actor.username,
        "change_password",
        change,
        end,
        checked,
    )
    .await?;
    Ok(())
}

/// The current and the new password, and where the request came from.
pub struct PasswordChange<'a> {
    pub old: &'a str,
    pub new: &'a str,
    pub client: Option<IpAddr>,
}

/// Disables a user (admin only): sign-in stops working and every token is revoked, so
/// that enabling the user again brings no old sign-in back.
#[tracing::instrument(skip_all)]
pub async fn set_disabled(
    db: &DatabaseConnection,
    actor: &Principal,
    username: &str,
    disabled: bool,
) -> ServiceResult<user::Model> {
    actor.require_role(&[Role::Admin])?;
    if disabled && username.trim() == actor.username {
        return Err(ServiceError::bad_input(
            "an admin cannot disable their own account",
        ));
    }
    let action = if disabled { "disable" } else { "enable" };
    let change = |u: &mut user::ActiveModel| u.disabled = Set(disabled);
    let end = if disabled {
        EndTokens::All
    } else {
        EndTokens::None
    };
    update_user(db, actor, username, action, change, end, None).await
}

/// Which of a user's tokens a change revokes.
enum EndTokens<'a> {
    None,
    All,
    /// All but the one with this (plain) token.
    AllBut(&'a str),
}

/// Changes a user in one transaction, with the row locked from the read on, so that
/// concurrent changes apply one after the other and each audit entry's `before` is the
/// previous one's `after`. `checked`: the password hash the caller verified a password
/// against, outside the transaction; the change is refused (WrongPassword) if the
/// password changed since.
#[allow(clippy::too_many_arguments)]
async fn update_user(
    db: &DatabaseConnection,
    actor: &Principal,
    username: &str,
    action: &str,
    change: impl FnOnce(&mut user::ActiveModel),
    end_tokens: EndTokens<'_>,
    checked: Option<&str>,
) -> ServiceResult<user::Model> {
    let txn = crate::db::begin_write(db).await?;
    let before = user::Entity::find()
        .filter(user::Column::Username.eq(username.trim()))
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("user"))?;
    if checked.is_some_and(|hash| hash != before.password_hash) {
        return Err(ServiceError::WrongPassword);
    }
    let mut active = before.clone().into_active_model();
    change(&mut active);
    let after = active.update(&txn).await?;
    match end_tokens {
        EndTokens::None => {}
        EndTokens::All => revoke_tokens(&txn, after.id, None).await?,
        EndTokens::AllBut(token) => revoke_tokens(&txn, after.id, Some(token)).await?,
    }
    audit::record(
        &txn,
        Some(actor),
        Change {
            entity: "user",
            entity_id: after.id,
            agency_id: None,
            action,
            before: Some(user_view(&before)),
            after: Some(user_view(&after)),
        },
    )
    .await?;
    txn.commit().await?;
    sign_ins::forget_all();
    Ok(after)
}

/// Revokes the user's live tokens, but for `except` (a plain token).
async fn revoke_tokens<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    except: Option<&str>,
) -> ServiceResult<()> {
    let mut revoke = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null());
    if let Some(token) = except {
        revoke = revoke.filter(api_token::Column::TokenHash.ne(token_hash(token)));
    }
    revoke.exec(db).await?;
    Ok(())
}

/// On the first start of a database without users: an `admin` with a random password,
/// returned so that it can be shown once.
pub async fn ensure_first_admin(
    db: &DatabaseConnection,
    agency_code: &str,
) -> ServiceResult<Option<String>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let password = random_password();
    create_user(
        db,
        None,
        NewUser {
            username: "admin".into(),
            display_name: Some("Administrator".into()),
            agency_code: agency_code.into(),
            role: Role::Admin,
            password: password.clone(),
        },
    )
    .await?;
    Ok(Some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").await.unwrap();
        assert!(
            verify_password("correct horse", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse!", Some(hash)).await.unwrap());
        assert!(hash_password("short").await.is_err());
        assert!(hash_password(&"x".repeat(257)).await.is_err());
        assert!(hash_password(&"x".repeat(256)).await.is_ok());
    }

    #[tokio::test]
    async fn without_a_hash_nothing_verifies() {
        // Not even the dummy hash's own password could: it is random and never kept.
        assert!(!verify_password("correct horse", None).await.unwrap());
    }

    #[test]
    fn usernames_are_plain() {
        assert_eq!(
            valid_username(" tay-son.editor ").unwrap(),
            "tay-son.editor"
        );
        assert!(valid_username("a b").is_err());
        assert!(valid_username("x").is_err());
    }
}
