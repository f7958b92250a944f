//! glibc's `sem_t` protocol, spoken directly on the semaphore's words.
//!
//! glibc (2.21 and later, 64-bit) keeps a semaphore in one 64-bit word:
//! the value in the low 32 bits and the number of sleeping waiters in the
//! high 32 (`struct new_sem { uint64_t data; int private; int pad; }`).
//! A waiter adds itself to the count, sleeps on the value's 32-bit half with
//! FUTEX_WAIT while it is 0, and takes a unit and leaves the count in one
//! compare-and-swap; `sem_post` adds a unit and issues FUTEX_WAKE on the
//! value when the count is non-zero.
//!
//! Doing the same here, instead of calling `sem_wait`, buys two things:
//! the engine can sleep on the value word like on any futex (no thread per
//! wait), and a peer that scribbles over the semaphore cannot make glibc
//! abort this process: glibc trusts the `private` word and aborts on the
//! futex error a garbage value there provokes, while these functions always
//! issue shared futex calls and treat any bit pattern as a valid state.
//! C programs using `sem_wait`/`sem_post` on the same semaphore interoperate
//! (tested against glibc in both directions).

use super::sem::{RawSem, SEM_VALUE_MAX};
use super::{futex, Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(all(target_pointer_width = "64", target_endian = "little")))]
compile_error!("the sem_t protocol is written for 64-bit little-endian glibc (x86_64, aarch64)");

const VALUE_MASK: u64 = 0xffff_ffff;
const ONE_WAITER: u64 = 1 << 32;

impl RawSem {
    fn data(&self) -> &AtomicU64 {
        // SAFETY: RawSem's contract keeps SEM_T_SIZE bytes aligned to 8
        // mapped; the first 8 are the `data` word, shared with other
        // processes, hence atomic.
        unsafe { &*self.as_ptr().cast::<AtomicU64>() }
    }

    /// The address of the 32-bit value half, the word glibc sleeps on.
    pub fn value_addr(&self) -> usize {
        self.as_ptr() as usize
    }

    /// The value, whatever the other bits hold.
    pub fn raw_value(&self) -> u32 {
        (self.data().load(Ordering::Relaxed) & VALUE_MASK) as u32
    }

    /// Takes a unit if there is one (sem_trywait).
    pub fn try_take(&self) -> bool {
        let data = self.data();
        let mut d = data.load(Ordering::Relaxed);
        while d & VALUE_MASK != 0 {
            match data.compare_exchange_weak(d, d - 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => d = now,
            }
        }
        false
    }

    /// Counts the caller among the waiters, so posters wake it.
    pub fn register_waiter(&self) {
        self.data().fetch_add(ONE_WAITER, Ordering::Relaxed);
    }

    /// Takes a unit and leaves the waiters in one step, as glibc's waiters
    /// do; false (still registered) when there is no unit.
    pub fn try_take_registered(&self) -> bool {
        let data = self.data();
        let mut d = data.load(Ordering::Relaxed);
        while d & VALUE_MASK != 0 {
            // A peer may have zeroed the waiter count: never borrow from the
            // value bits to leave it.
            let next = if d >> 32 == 0 { d - 1 } else { d - 1 - ONE_WAITER };
            match data.compare_exchange_weak(d, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => d = now,
            }
        }
        false
    }

    /// Leaves the waiters without a unit (a timeout, a cancel).
    pub fn unregister_waiter(&self) {
        let data = self.data();
        let mut d = data.load(Ordering::Relaxed);
        while d >> 32 != 0 {
            match data.compare_exchange_weak(d, d - ONE_WAITER, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => d = now,
            }
        }
    }

    /// Adds a unit and wakes one waiter if any is registered (sem_post).
    /// EOVERFLOW at SEM_VALUE_MAX.
    pub fn give(&self) -> Result<()> {
        let data = self.data();
        let mut d = data.load(Ordering::Relaxed);
        loop {
            if (d & VALUE_MASK) as u32 >= SEM_VALUE_MAX {
                return Err(Error::new(libc::EOVERFLOW, "sem_post"));
            }
            match data.compare_exchange_weak(d, d + 1, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => d = now,
            }
        }
        if d >> 32 != 0 {
            futex::wake(self.value_addr(), 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::os::deadline::Deadline;
    use crate::os::futex::{self, WaitOutcome};
    use crate::os::mman::MmapRaw;
    use crate::os::sem::RawSem;
    use std::ptr::NonNull;

    fn sem(memory: &MmapRaw, value: u32) -> RawSem {
        let ptr = NonNull::new(memory.as_ptr().cast::<libc::sem_t>()).unwrap();
        // SAFETY: a fresh page-aligned shared mapping that outlives the sem.
        unsafe { RawSem::init(ptr, value) }.unwrap()
    }

    /// A waiter speaking the protocol, as the engine does.
    fn take(s: &RawSem, deadline: Option<Deadline>) -> bool {
        if s.try_take() {
            return true;
        }
        s.register_waiter();
        loop {
            if s.try_take_registered() {
                return true;
            }
            if futex::wait(s.value_addr(), 0, deadline).unwrap() == WaitOutcome::TimedOut {
                if s.try_take_registered() {
                    return true;
                }
                s.unregister_waiter();
                return false;
            }
        }
    }

    #[test]
    fn interoperates_with_glibc_both_ways() {
        let memory = MmapRaw::anonymous(4096, true).unwrap();
        let s = sem(&memory, 0);
        let addr = memory.as_ptr() as usize;
        // glibc posts, we wait.
        let poster = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            // SAFETY: the mapping outlives the thread, joined below.
            assert_eq!(unsafe { libc::sem_post(addr as *mut libc::sem_t) }, 0);
        });
        assert!(take(&s, Deadline::after_ms(5000.0)));
        poster.join().unwrap();
        // We post, glibc's sem_wait (sleeping, registered as a waiter) wakes.
        let waiter = std::thread::spawn(move || {
            // SAFETY: as above.
            unsafe { libc::sem_wait(addr as *mut libc::sem_t) }
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.give().unwrap();
        assert_eq!(waiter.join().unwrap(), 0);
        assert_eq!(s.value(), 0);
        assert!(!take(&s, Deadline::after_ms(10.0)));
        // Timing out leaves no waiter registered.
        // SAFETY: the first word of a live mapping.
        assert_eq!(unsafe { memory.as_ptr().cast::<u64>().read() }, 0);
    }

    #[test]
    fn garbage_words_never_abort_or_corrupt_the_value() {
        let memory = MmapRaw::anonymous(4096, true).unwrap();
        let s = sem(&memory, 2);
        let words = memory.as_ptr().cast::<u32>();
        // SAFETY: the words of a live mapping used only by this test.
        unsafe {
            // `private` garbage: glibc would abort in its futex calls.
            words.add(2).write_volatile(0x7fff_ffff);
            // A waiter count nobody registered.
            words.add(1).write_volatile(0);
        }
        assert!(s.try_take());
        s.register_waiter();
        assert!(s.try_take_registered());
        // The count was zeroed by a peer meanwhile: taking must not borrow.
        // SAFETY: as above.
        unsafe { words.add(1).write_volatile(0) };
        s.give().unwrap();
        s.register_waiter();
        // SAFETY: as above.
        unsafe { words.add(1).write_volatile(0) };
        assert!(s.try_take_registered());
        s.unregister_waiter();
        // SAFETY: as above.
        assert_eq!(unsafe { (words.read_volatile(), words.add(1).read_volatile()) }, (0, 0));
        // SAFETY: as above.
        unsafe { words.write_volatile(super::SEM_VALUE_MAX) };
        assert_eq!(s.give().unwrap_err().errno(), libc::EOVERFLOW);
    }

    #[test]
    fn units_are_never_lost_between_racing_waiters_and_posters() {
        let memory = MmapRaw::anonymous(4096, true).unwrap();
        let s = sem(&memory, 0);
        let addr = memory.as_ptr() as usize;
        const PER: usize = 20_000;
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(move || {
                    // SAFETY: the mapping outlives the scope.
                    let s = unsafe { RawSem::from_ptr(NonNull::new(addr as *mut libc::sem_t).unwrap()) };
                    for _ in 0..PER {
                        assert!(take(&s, None));
                    }
                });
            }
            scope.spawn(move || {
                for i in 0..2 * PER {
                    if i % 2 == 0 {
                        // SAFETY: as above.
                        assert_eq!(unsafe { libc::sem_post(addr as *mut libc::sem_t) }, 0);
                    } else {
                        // SAFETY: as above.
                        unsafe { RawSem::from_ptr(NonNull::new(addr as *mut libc::sem_t).unwrap()) }.give().unwrap();
                    }
                }
            });
        });
        assert_eq!(s.value(), 0);
        // SAFETY: the first word of a live mapping.
        assert_eq!(unsafe { memory.as_ptr().cast::<u64>().read() } >> 32, 0, "no waiter left registered");
    }
}
