//! Wrong tokens are throttled per client address: one that failed too often lately has to
//! wait before its next attempt is even checked. Others' failures never lock anyone out
//! (tokens are at least 20 characters: guessing them from many addresses is hopeless), and a
//! live login is never throttled.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures counted over this window.
pub(super) const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures one address may make in the window.
const PER_ADDRESS: usize = 5;
/// Addresses remembered at most (the oldest are forgotten first): a flood of addresses
/// cannot grow the table without bound.
const ADDRESSES: usize = 10_000;

/// Recent failures, per address.
#[derive(Debug, Default)]
pub struct Failures {
    by_address: HashMap<IpAddr, VecDeque<Instant>>,
}

impl Failures {
    /// How long `address` must wait before trying again, if it must.
    pub fn wait(&mut self, address: Option<IpAddr>, now: Instant) -> Option<Duration> {
        self.forget_old(now);
        let full = |list: &VecDeque<Instant>, limit: usize| {
            (list.len() >= limit)
                .then(|| list.front().map(|t| WINDOW.saturating_sub(now - *t)))
                .flatten()
        };
        address
            .and_then(|a| self.by_address.get(&a))
            .and_then(|l| full(l, PER_ADDRESS))
    }

    /// Counts a wrong token from `address`.
    pub fn failed(&mut self, address: Option<IpAddr>, now: Instant) {
        self.forget_old(now);
        let Some(a) = address else { return };
        if self.by_address.len() >= ADDRESSES && !self.by_address.contains_key(&a) {
            let oldest = self
                .by_address
                .iter()
                .min_by_key(|(_, list)| list.back().copied())
                .map(|(a, _)| *a);
            if let Some(oldest) = oldest {
                self.by_address.remove(&oldest);
            }
        }
        self.by_address.entry(a).or_default().push_back(now);
    }

    /// `address`'s failures as another source counted them (the replicas' database), oldest
    /// first, each at `now` less how long ago it was.
    pub fn replace(&mut self, address: IpAddr, ago: &[Duration], now: Instant) {
        let times: VecDeque<Instant> = ago.iter().filter_map(|d| now.checked_sub(*d)).collect();
        if times.is_empty() {
            self.by_address.remove(&address);
        } else {
            self.by_address.insert(address, times);
        }
    }

    /// A right token: the address starts afresh.
    pub fn succeeded(&mut self, address: Option<IpAddr>) {
        if let Some(a) = address {
            self.by_address.remove(&a);
        }
    }

    fn forget_old(&mut self, now: Instant) {
        let old = |list: &mut VecDeque<Instant>| {
            while list.front().is_some_and(|t| now - *t >= WINDOW) {
                list.pop_front();
            }
        };
        self.by_address.retain(|_, list| {
            old(list);
            !list.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_five_failures_and_no_one_else_does() {
        let mut f = Failures::default();
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..5 {
            assert_eq!(f.wait(Some(a), t0), None, "attempt {i}");
            f.failed(Some(a), t0);
        }
        let wait = f.wait(Some(a), t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(wait, WINDOW - Duration::from_secs(60));
        assert_eq!(
            f.wait(Some("10.0.0.2".parse().unwrap()), t0),
            None,
            "others may try"
        );
        assert_eq!(f.wait(Some(a), t0 + WINDOW), None, "the window passed");
        let mut f = Failures::default();
        for i in 0..200u8 {
            f.failed(Some(IpAddr::from([10, 0, 1, i])), t0);
        }
        assert_eq!(
            f.wait(Some("10.9.9.9".parse().unwrap()), t0),
            None,
            "others' failures lock no one out"
        );
        f.succeeded(Some(a));
    }
}
