//! Sign-in throttling: keyed rate limiters per username and per client address, so that
//! passwords cannot be tried at speed. Every attempt counts, right or wrong, and is
//! counted before the password is checked, so a throttled caller learns nothing, not even
//! from the right password.
use std::{
    net::{IpAddr, Ipv6Addr},
    num::{NonZeroU32, NonZeroU64},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};

use super::{ServiceError, ServiceResult};
use crate::config::LoginLimits;

/// Attempts between two sweeps of keys whose quota has fully recovered.
const SWEEP_EVERY: u64 = 1024;

/// The key of attempts whose address the transport does not know (in-process requests).
const UNKNOWN_ADDRESS: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// The key of every username that cannot exist, so that junk names do not grow the map.
const IMPOSSIBLE_USERNAME: &str = "";

pub struct LoginThrottle {
    by_username: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    attempts: AtomicU64,
}

impl LoginThrottle {
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            by_username: RateLimiter::keyed(quota(limits.user_burst, limits.user_period_secs)),
            by_address: RateLimiter::keyed(quota(limits.address_burst, limits.address_period_secs)),
            attempts: AtomicU64::new(0),
        }
    }

    /// Counts one sign-in attempt for `username` (as typed, trimmed) from `client`, or
    /// refuses it with TOO_MANY_REQUESTS. The address is counted first: a refused address
    /// adds no username to the map.
    pub fn attempt(&self, username: &str, client: Option<IpAddr>) -> ServiceResult<()> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        check(&self.by_address, &address_key(client))?;
        let username = if super::auth::valid_username(username).is_ok() {
            username
        } else {
            IMPOSSIBLE_USERNAME
        };
        check(&self.by_username, &username.to_owned())
    }

    /// Forgets keys whose quota has fully recovered: they behave as if never seen.
    fn sweep(&self) {
        self.by_username.retain_recent();
        self.by_username.shrink_to_fit();
        self.by_address.retain_recent();
        self.by_address.shrink_to_fit();
    }
}

fn quota(burst: NonZeroU32, period_secs: NonZeroU64) -> Quota {
    Quota::with_period(Duration::from_secs(period_secs.get()))
        .expect("a period of at least one second")
        .allow_burst(burst)
}

fn check<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> ServiceResult<()>
where
    K: Clone + Eq + std::hash::Hash,
{
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(limiter.clock().now());
        ServiceError::TooManyRequests {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    })
}

/// One key per IPv4 address, and per /64 network for IPv6 (one host usually holds a
/// whole /64, so single IPv6 addresses would cost an attacker nothing).
fn address_key(client: Option<IpAddr>) -> IpAddr {
    match client.map(|ip| ip.to_canonical()) {
        None => UNKNOWN_ADDRESS,
        Some(IpAddr::V4(v4)) => IpAddr::V4(v4),
        Some(IpAddr::V6(v6)) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(user_burst: u32, address_burst: u32) -> LoginLimits {
        LoginLimits {
            user_burst: NonZeroU32::new(user_burst).unwrap(),
            user_period_secs: NonZeroU64::new(3600).unwrap(),
            address_burst: NonZeroU32::new(address_burst).unwrap(),
            address_period_secs: NonZeroU64::new(3600).unwrap(),
        }
    }

    #[test]
    fn usernames_and_addresses_have_their_own_quota() {
        let throttle = LoginThrottle::new(&limits(2, 3));
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        assert!(throttle.attempt("tayson", a).is_ok());
        assert!(throttle.attempt("tayson", a).is_ok());
        match throttle.attempt("tayson", b) {
            Err(ServiceError::TooManyRequests { retry_after_secs }) => {
                assert!((1..=3600).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("{other:?}"),
        }
        // Address a has made two attempts of its three, b one.
        assert!(throttle.attempt("anlao", a).is_ok());
        assert!(throttle.attempt("anlao", a).is_err());
        assert!(throttle.attempt("anlao", b).is_ok());
    }

    #[test]
    fn one_ipv6_network_is_one_address() {
        let first = address_key(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let second = address_key(Some("2001:db8:1:2:bbbb::2".parse().unwrap()));
        let other = address_key(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(first, second);
        assert_ne!(first, other);
        assert_eq!(
            address_key(Some("::ffff:10.0.0.1".parse().unwrap())),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(address_key(None), UNKNOWN_ADDRESS);
    }

    #[test]
    fn impossible_usernames_share_one_quota() {
        let throttle = LoginThrottle::new(&limits(1, 100));
        assert!(throttle.attempt("no such name!", None).is_ok());
        assert!(throttle.attempt("another junk name?", None).is_err());
        assert!(throttle.attempt("tayson", None).is_ok());
    }
}
