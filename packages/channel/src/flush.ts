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

// Two lists in turn, so that publishing allocates nothing: an end that
// publishes may queue again (on a full ring, say) while the other is walked.
let pending: Publisher[] = [];
let spare: Publisher[] = [];
let scheduled = false;

function publishPending(): void {
  scheduled = false;
  publishAll();
}

/** Publishes `end` at the end of this event-loop turn, unless it does so earlier. */
export function publishLater(end: Publisher): void {
  if (end[QUEUED]) return;
  end[QUEUED] = true;
  pending.push(end);
  if (!scheduled) {
    scheduled = true;
    setImmediate(publishPending);
  }
}

/**
 * Publishes every end of this thread now: before a wait, so that a process
 * that sends a request and then waits for the answer never sits on its
 * own request.
 */
export function publishAll(): void {
  if (pending.length === 0) return;
  const ends = pending;
  pending = spare;
  spare = ends;
  // Unflagged first: should a publish throw, the ends not reached yet queue
  // again on their next send or release instead of being lost.
  for (let i = 0; i < ends.length; i++) ends[i]![QUEUED] = false;
  try {
    for (let i = 0; i < ends.length; i++) ends[i]!.publish();
  } finally {
    ends.length = 0;
  }
}
