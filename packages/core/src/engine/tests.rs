//! The engine on each backend, driven the way the addon drives it.

use super::queue::tests::Counter;
use super::queue::CompletionQueue;
use super::*;
use crate::os::mman::MmapRaw;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const KINDS: [BackendKind; 3] = [BackendKind::Uring, BackendKind::Waitv, BackendKind::Pool];

fn engine(kind: BackendKind) -> Engine<u32> {
    let queue = CompletionQueue::new(Box::new(Arc::new(Counter::default())));
    Engine::new(kind, queue).expect("engine")
}

/// Processes completions and timers until `want` tokens settled.
fn settle(engine: &mut Engine<u32>, want: usize) -> Vec<(u32, Outcome)> {
    let kind = engine.kind();
    let mut out = engine.take_settled();
    let start = Instant::now();
    while out.len() < want {
        assert!(start.elapsed() < Duration::from_secs(20), "{kind:?}: only {} of {want} settled: {out:?}", out.len());
        engine.process();
        engine.on_timer();
        out.extend(engine.take_settled());
        std::thread::sleep(Duration::from_micros(200));
    }
    out.sort_by_key(|(token, _)| *token);
    out
}

fn addr(word: &AtomicU32) -> usize {
    word as *const AtomicU32 as usize
}

fn futex(word: &AtomicU32, expected: u32) -> Wait {
    Wait::new(Op::Futex { addr: addr(word), expected })
}

#[test]
fn futex_waits_wake_time_out_and_notice_mismatches() {
    for kind in KINDS {
        let mut e = engine(kind);
        let word = AtomicU32::new(0);
        e.submit(futex(&word, 0), 1).unwrap();
        e.submit(futex(&word, 5), 2).unwrap();
        let mut timed = futex(&word, 0);
        timed.deadline = Deadline::after_ms(20.0);
        e.submit(timed, 3).unwrap();
        let mut passed = futex(&word, 0);
        passed.deadline = Deadline::after_ms(0.0);
        e.submit(passed, 4).unwrap();
        assert_eq!(settle(&mut e, 1), vec![(4, Outcome::TimedOut)], "{kind:?}");
        // Token 2's word differs (NotEqual, or a wake for futex_waitv),
        // token 3 times out; token 1 sleeps until woken.
        let early = settle(&mut e, 2);
        assert!(matches!(early[0], (2, Outcome::NotEqual | Outcome::Woken)), "{kind:?} {early:?}");
        assert_eq!(early[1], (3, Outcome::TimedOut), "{kind:?}");
        assert_eq!(e.pending(), 1);
        word.store(1, Ordering::SeqCst);
        crate::os::futex::wake(addr(&word), 1).unwrap();
        assert_eq!(settle(&mut e, 1), vec![(1, Outcome::Woken)], "{kind:?}");
        assert_eq!((e.pending(), e.referenced()), (0, 0));
    }
}

#[test]
fn an_aborted_wait_never_swallows_a_wake() {
    // A waiter woken and aborted at the same time either takes the wake or
    // passes it on: the second waiter must always wake.
    for kind in KINDS {
        let tries = if kind == BackendKind::Pool { 200 } else { 2000 };
        let mut e = engine(kind);
        for round in 0..tries {
            let word = AtomicU32::new(0);
            let mut first = futex(&word, 0);
            first.group = 7;
            e.submit(first, 1).unwrap();
            e.submit(futex(&word, 0), 2).unwrap();
            // Give the backend time to arm both (the pool may be slower).
            if round % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
            // As every futex protocol does, the waker changes the word
            // before it wakes.
            let waker = std::thread::spawn({
                let a = addr(&word);
                move || {
                    // SAFETY: `word` outlives the thread, joined below.
                    unsafe { &*(a as *const AtomicU32) }.store(1, Ordering::SeqCst);
                    crate::os::futex::wake(a, 1).unwrap()
                }
            });
            e.cancel_group(7);
            waker.join().unwrap();
            let mut settled = e.take_settled();
            settled.extend(settle(&mut e, 2 - settled.len()));
            settled.sort_by_key(|(t, _)| *t);
            assert_eq!(settled[0], (1, Outcome::Cancelled), "{kind:?} round {round}");
            assert!(
                matches!(settled[1], (2, Outcome::Woken | Outcome::NotEqual)),
                "{kind:?} round {round}: {settled:?}"
            );
            assert_eq!(e.pending(), 0);
        }
    }
}

struct Sem {
    memory: Arc<MmapRaw>,
}

impl Sem {
    fn new(value: u32) -> Sem {
        let memory = Arc::new(MmapRaw::anonymous(4096, true).unwrap());
        // SAFETY: a fresh mapping that the Arc keeps alive.
        unsafe { RawSem::init(NonNull::new(memory.as_ptr().cast()).unwrap(), value) }.unwrap();
        Sem { memory }
    }

    fn raw(&self) -> RawSem {
        // SAFETY: as above.
        unsafe { RawSem::from_ptr(NonNull::new(self.memory.as_ptr().cast()).unwrap()) }
    }

    fn wait(&self) -> Wait {
        Wait::new(Op::Sem { sem: self.raw(), keep: Box::new(Arc::clone(&self.memory)) })
    }

    fn data(&self) -> u64 {
        // SAFETY: the first word of the live mapping.
        unsafe { self.memory.as_ptr().cast::<u64>().read_volatile() }
    }
}

#[test]
fn semaphore_waits_take_units_and_never_lose_one_to_a_cancel() {
    for kind in KINDS {
        let mut e = engine(kind);
        let sem = Sem::new(1);
        e.submit(sem.wait(), 1).unwrap();
        assert_eq!(e.take_settled(), vec![(1, Outcome::Acquired)]);
        let rounds = if kind == BackendKind::Pool { 100 } else { 1000 };
        let mut acquired = 0;
        for round in 0..rounds {
            let mut a = sem.wait();
            a.group = 1;
            e.submit(a, 10).unwrap();
            e.submit(sem.wait(), 11).unwrap();
            sem.raw().post().unwrap();
            e.cancel_group(1);
            let settled = settle(&mut e, 2);
            acquired += settled.iter().filter(|(_, o)| *o == Outcome::Acquired).count();
            // Either the cancelled wait took the unit first, or the other
            // one gets it: one unit, one taker.
            assert_eq!(
                settled.iter().filter(|(_, o)| *o == Outcome::Acquired).count() + sem.raw().value() as usize,
                1,
                "{kind:?} {round} {settled:?}"
            );
            if sem.raw().value() == 1 {
                assert!(sem.raw().try_wait());
            }
        }
        assert!(acquired > 0);
        assert_eq!(sem.data(), 0, "{kind:?}: no unit and no waiter left behind");
    }
}

#[test]
fn semaphore_timeouts_leave_the_waiter_count() {
    for kind in KINDS {
        let mut e = engine(kind);
        let sem = Sem::new(0);
        let mut w = sem.wait();
        w.deadline = Deadline::after_ms(15.0);
        e.submit(w, 1).unwrap();
        assert_eq!(sem.data() >> 32, 1);
        assert_eq!(settle(&mut e, 1), vec![(1, Outcome::TimedOut)]);
        assert_eq!(sem.data(), 0, "{kind:?}");
    }
}

#[test]
fn a_dead_owner_and_a_closed_region_end_waits() {
    for kind in KINDS {
        let mut e = engine(kind);
        let word = AtomicU32::new(0);
        let mut watched = futex(&word, 0);
        watched.watch = Some(0x3fff_fff0);
        e.submit(watched, 1).unwrap();
        let other = AtomicU32::new(0);
        e.submit(futex(&other, 0), 2).unwrap();
        e.cancel_range(addr(&other), addr(&other) + 4, Outcome::Closed);
        assert_eq!(e.take_settled(), vec![(2, Outcome::Closed)]);
        assert_eq!(settle(&mut e, 1), vec![(1, Outcome::OwnerDead)], "{kind:?}");
    }
}

#[test]
fn a_watched_wait_notices_a_word_changed_without_a_wake() {
    for kind in KINDS {
        let mut e = engine(kind);
        let word = AtomicU32::new(7);
        let mut watched = futex(&word, 7);
        // This thread is alive: only the word can end the wait.
        watched.watch = Some(crate::os::futex::gettid());
        e.submit(watched, 1).unwrap();
        word.store(0, Ordering::SeqCst); // released, and nobody woken
        let start = Instant::now();
        // futex_waitv's own threads may notice first (and report a wake).
        let settled = settle(&mut e, 1);
        assert!(matches!(settled[..], [(1, Outcome::NotEqual | Outcome::Woken)]), "{kind:?} {settled:?}");
        assert!(start.elapsed() < Duration::from_secs(2), "{kind:?}: took {:?}", start.elapsed());
    }
}

#[test]
fn unreferenced_waits_and_teardown() {
    for kind in KINDS {
        let mut e = engine(kind);
        let word = AtomicU32::new(0);
        let mut weak = futex(&word, 0);
        weak.referenced = false;
        e.submit(weak, 1).unwrap();
        e.submit(futex(&word, 0), 2).unwrap();
        let sem = Sem::new(0);
        e.submit(sem.wait(), 3).unwrap();
        assert_eq!((e.pending(), e.referenced()), (3, 2));
        let mut tokens = e.teardown();
        tokens.sort_unstable();
        assert_eq!(tokens, vec![1, 2, 3]);
        assert_eq!(sem.data(), 0, "teardown leaves the semaphore's waiter count");
        // Nothing is woken or settled afterwards.
        word.store(1, Ordering::SeqCst);
        crate::os::futex::wake(addr(&word), 10).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        e.process();
        assert!(e.take_settled().is_empty());
    }
}

#[test]
fn ten_thousand_waits_on_one_word_all_wake_once() {
    for kind in [BackendKind::Uring, BackendKind::Waitv] {
        let mut e = engine(kind);
        let word = AtomicU32::new(0);
        for token in 0..10_000 {
            e.submit(futex(&word, 0), token).unwrap();
        }
        if kind == BackendKind::Waitv {
            assert!(waitv::threads() <= 100, "{} threads", waitv::threads());
        }
        word.store(1, Ordering::SeqCst);
        crate::os::futex::wake(addr(&word), i32::MAX as u32).unwrap();
        let settled = settle(&mut e, 10_000);
        assert_eq!(settled.len(), 10_000);
        assert!(settled
            .iter()
            .enumerate()
            .all(|(i, (t, o))| *t == i as u32 && matches!(o, Outcome::Woken | Outcome::NotEqual)));
        assert_eq!(e.pending(), 0);
    }
}
