//! Spinning on a shared word before sleeping on it. A JS loop over
//! `Atomics.load` can only hammer the word; here every re-check is followed
//! by the CPU's spin-wait hint (PAUSE on x86, YIELD/ISB on Arm), which
//! gives the pipeline to a hyperthread sibling (often the very peer that
//! will write the word) and avoids the memory-order flush a tight load loop
//! takes when the line finally changes.

use std::sync::atomic::{AtomicI32, Ordering};

/// Re-checks `word` up to `tries` times while it holds `value`. Returns the
/// tries left when it changed (so the caller can go on spinning with the
/// rest of its budget if the change is not yet what it waits for), or None
/// when every try saw `value`.
pub fn spin_while(word: &AtomicI32, value: i32, tries: u32) -> Option<u32> {
    let mut left = tries;
    while left > 0 {
        left -= 1;
        if word.load(Ordering::Acquire) != value {
            return Some(left);
        }
        std::hint::spin_loop();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn returns_at_once_when_the_word_already_differs() {
        let word = AtomicI32::new(3);
        assert_eq!(spin_while(&word, 2, 10), Some(9));
    }

    #[test]
    fn gives_up_after_its_tries_and_zero_tries_checks_nothing() {
        let word = AtomicI32::new(2);
        assert_eq!(spin_while(&word, 2, 1000), None);
        assert_eq!(spin_while(&AtomicI32::new(5), 2, 0), None);
    }

    #[test]
    fn sees_a_store_from_another_thread() {
        let word = Arc::new(AtomicI32::new(0));
        let writer = {
            let word = Arc::clone(&word);
            thread::spawn(move || word.store(1, Ordering::Release))
        };
        let mut seen = false;
        for _ in 0..1000 {
            if spin_while(&word, 0, 1_000_000).is_some() {
                seen = true;
                break;
            }
        }
        writer.join().unwrap();
        assert!(seen, "the store was never seen");
        assert_eq!(word.load(Ordering::Relaxed), 1);
    }
}
