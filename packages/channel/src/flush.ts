// Batching: an end publishes its cursor once per batch, and whatever is
// still unpublished at the end of the event-loop turn (setImmediate) or
// before any wait of a channel end in this thread. Module state is per
// thread, as every worker loads its own copy.
//
// The pending ends are a plain array, each end flagged while it is in it:
// this runs before every wait, where a Set's iterator and deletes cost more
// than the publishing itself.

/** Set while an end sits in this thread's pending list. */
export const QUEUED: unique symbol = Symbol('queued');

/** An end with a cursor it may not have published yet. */
export interface Publisher {
  /** Publishes the cursor (and wakes the peer if it sleeps). A no-op when there is nothing new or the end closed. */
  publish(): void;
  [QUEUED]: boolean;
}

// A list that only grows, with a count of the ends in it, so that the hot
// path allocates nothing and never sets `length` (a runtime call in V8).
const pending: (Publisher | undefined)[] = [];
let count = 0;
let scheduled = false;

function publishPending(): void {
  scheduled = false;
  publishAll();
}

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setImmediate(publishPending);
  }
}

/** Publishes `end` at the end of this event-loop turn, unless it does so earlier. */
export function publishLater(end: Publisher): void {
  if (end[QUEUED]) return;
  end[QUEUED] = true;
  pending[count++] = end;
  schedule();
}

/**
 * Publishes every end of this thread now: before a wait, so that a process
 * that sends a request and then waits for the answer never sits on its
 * own request.
 */
export function publishAll(): void {
  if (count === 0) return;
  let done = 0;
  try {
    // `count` is read again each pass: a publish may queue another end.
    while (done < count) {
      const end = pending[done]!;
      pending[done++] = undefined;
      end[QUEUED] = false;
      end.publish();
    }
  } finally {
    // After a throw, the ends not reached yet stay queued, in order, and
    // still publish at the end of the turn (they cannot queue again).
    let kept = 0;
    while (done < count) {
      pending[kept++] = pending[done];
      pending[done++] = undefined;
    }
    count = kept;
    if (kept > 0) schedule();
  }
}
