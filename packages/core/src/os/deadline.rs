//! The one notion of time every wait uses: an absolute point on
//! CLOCK_MONOTONIC, so wall-clock jumps never stretch or cut a timeout, and
//! a wait restarted after a wake-up, a signal or a time slice keeps its
//! deadline.

use std::time::Duration;

/// A point on CLOCK_MONOTONIC, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline {
    nanos: u64,
}

/// Now, on CLOCK_MONOTONIC.
pub fn monotonic_nanos() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Deadline {
    pub fn now() -> Deadline {
        Deadline { nanos: monotonic_nanos() }
    }

    /// The deadline of a timeout given in milliseconds, as JS passes them:
    /// fractions count; zero, negative and NaN mean "now" (callers reject
    /// negative and NaN before this); a timeout too far away to represent
    /// (Infinity, 1e33, anything past the year 2500) means none at all.
    pub fn after_ms(ms: f64) -> Option<Deadline> {
        if ms.is_nan() || ms <= 0.0 {
            return Some(Deadline::now());
        }
        let add = ms * 1e6;
        // u64 nanoseconds of monotonic time last 584 years: a timeout that
        // does not fit is "practically forever", never "already passed".
        if !add.is_finite() || add >= (u64::MAX / 2) as f64 {
            return None;
        }
        Deadline::now().nanos.checked_add(add.ceil() as u64).map(|nanos| Deadline { nanos })
    }

    /// `duration` from now (saturating: a huge duration is no deadline).
    pub fn after(duration: Duration) -> Option<Deadline> {
        let add = u64::try_from(duration.as_nanos()).ok()?;
        Deadline::now().nanos.checked_add(add).map(|nanos| Deadline { nanos })
    }

    /// The earlier of `self` and `other` (None = never).
    pub fn min(a: Option<Deadline>, b: Option<Deadline>) -> Option<Deadline> {
        match (a, b) {
            (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
            (a, None) => a,
            (None, b) => b,
        }
    }

    pub fn passed(self) -> bool {
        monotonic_nanos() >= self.nanos
    }

    /// Time left, zero once passed.
    pub fn remaining(self) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(monotonic_nanos()))
    }

    /// Whole milliseconds left, rounded up, for timers with millisecond
    /// resolution (libuv's): such a timer never fires before the deadline
    /// by rounding, and a caller re-checks [`Deadline::passed`] anyway.
    pub fn remaining_ms_ceil(self) -> u64 {
        let left = self.nanos.saturating_sub(monotonic_nanos());
        left.div_ceil(1_000_000)
    }

    /// As an absolute timespec (FUTEX_WAIT_BITSET, futex_waitv,
    /// sem_clockwait, pthread_mutex_clocklock).
    pub fn timespec(self) -> libc::timespec {
        libc::timespec {
            tv_sec: (self.nanos / 1_000_000_000) as libc::time_t,
            tv_nsec: (self.nanos % 1_000_000_000) as libc::c_long,
        }
    }

    /// The time left as a relative timespec (semtimedop).
    pub fn relative_timespec(self) -> libc::timespec {
        let left = self.remaining();
        libc::timespec { tv_sec: left.as_secs() as libc::time_t, tv_nsec: left.subsec_nanos() as libc::c_long }
    }

    pub fn nanos(self) -> u64 {
        self.nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_of_any_size_behave() {
        let now = Deadline::now();
        for ms in [0.0, -0.0, -5.0, f64::NAN] {
            let d = Deadline::after_ms(ms).unwrap();
            assert!(d >= now && d.passed(), "{ms}");
        }
        for ms in [f64::INFINITY, 1e33, 1e22, 2f64.powi(64), 1e13] {
            assert_eq!(Deadline::after_ms(ms), None, "{ms} ms is practically forever");
        }
        let soon = Deadline::after_ms(0.25).unwrap();
        assert!(soon.nanos() - now.nanos() >= 250_000);
        assert!(soon.remaining_ms_ceil() <= 1);
        let year = Deadline::after_ms(365.0 * 86_400_000.0).unwrap();
        assert!(!year.passed());
        assert_eq!(year.timespec().tv_sec as u64, year.nanos() / 1_000_000_000);
        assert!(year.relative_timespec().tv_sec > 364 * 86_400);
    }

    #[test]
    fn min_treats_none_as_never() {
        let a = Deadline::after_ms(10.0);
        let b = Deadline::after_ms(20.0);
        assert_eq!(Deadline::min(a, b), a);
        assert_eq!(Deadline::min(None, b), b);
        assert_eq!(Deadline::min(a, None), a);
        assert_eq!(Deadline::min(None, None), None);
        assert_eq!(Deadline::after(Duration::MAX), None);
    }
}
