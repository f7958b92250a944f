//! Completions travelling from wait threads back to the thread that owns
//! the waits (an event loop's JS thread).
//!
//! Threads push; the owner drains the whole queue at once. The owner is
//! told only when the queue goes from empty to non-empty, so a burst of a
//! thousand completions costs one wake-up of the event loop, not a
//! thousand. Once the owner closes the queue (its env is being torn down),
//! pushes are dropped and the owner is never told again: the notifier may
//! be freed right after `close` returns.

use super::Completion;
use std::sync::{Arc, Mutex};

/// How the owner is woken: `uv_async_send` in the addon, a condition
/// variable in tests. Called with the queue's lock held, so `close` can
/// guarantee that no call is in flight once it returns.
pub trait Notify: Send + Sync {
    fn notify(&self);
}

struct State {
    items: Vec<Completion>,
    closed: bool,
}

/// A completion queue shared by the owner and the threads working for it.
pub struct CompletionQueue {
    state: Mutex<State>,
    notify: Box<dyn Notify>,
}

impl CompletionQueue {
    pub fn new(notify: Box<dyn Notify>) -> Arc<CompletionQueue> {
        Arc::new(CompletionQueue { state: Mutex::new(State { items: Vec::new(), closed: false }), notify })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds completions; wakes the owner if it had nothing queued. False
    /// once closed (the completions were dropped).
    pub fn push_all(&self, completions: impl IntoIterator<Item = Completion>) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        let was_empty = state.items.is_empty();
        state.items.extend(completions);
        if was_empty && !state.items.is_empty() {
            self.notify.notify();
        }
        true
    }

    pub fn push(&self, completion: Completion) -> bool {
        self.push_all(std::iter::once(completion))
    }

    /// Takes everything queued, appending it to `out`.
    pub fn drain_into(&self, out: &mut Vec<Completion>) {
        out.append(&mut self.lock().items);
    }

    /// Stops accepting completions; the notifier is not called after this
    /// returns.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.items.clear();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::Outcome;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts notifications and lets a test block until one arrives.
    #[derive(Default)]
    pub struct Counter {
        pub count: AtomicUsize,
        pub cond: std::sync::Condvar,
        pub lock: Mutex<()>,
    }

    impl Notify for Arc<Counter> {
        fn notify(&self) {
            self.count.fetch_add(1, Ordering::SeqCst);
            let _guard = self.lock.lock().unwrap();
            self.cond.notify_all();
        }
    }

    #[test]
    fn one_notification_per_burst_and_none_after_close() {
        let counter = Arc::new(Counter::default());
        let queue = CompletionQueue::new(Box::new(Arc::clone(&counter)));
        for id in 0..1000 {
            assert!(queue.push(Completion { id, outcome: Outcome::Woken }));
        }
        assert_eq!(counter.count.load(Ordering::SeqCst), 1);
        let mut out = Vec::new();
        queue.drain_into(&mut out);
        assert_eq!(out.len(), 1000);
        assert!(queue.push(Completion { id: 1, outcome: Outcome::Woken }));
        assert_eq!(counter.count.load(Ordering::SeqCst), 2);
        queue.close();
        assert!(!queue.push(Completion { id: 2, outcome: Outcome::Woken }));
        assert_eq!(counter.count.load(Ordering::SeqCst), 2);
        out.clear();
        queue.drain_into(&mut out);
        assert!(out.is_empty());
    }
}
