// Batching: an end publishes its cursor once per batch, and whatever is
// still unpublished at the end of the event-loop turn (setImmediate) or
// before any wait of a channel end in this thread. Module state is per
// thread, as every worker loads its own copy.

/** An end with a cursor it has not published yet. */
export interface Publisher {
  /** Publishes the cursor (and wakes the peer if it sleeps). */
  publish(): void;
}

const pending = new Set<Publisher>();
let scheduled = false;

function publishPending(): void {
  scheduled = false;
  for (const end of pending) {
    pending.delete(end);
    end.publish();
  }
}

/** Publishes `end` at the end of this event-loop turn, unless it does so earlier. */
export function publishLater(end: Publisher): void {
  pending.add(end);
  if (!scheduled) {
    scheduled = true;
    setImmediate(publishPending);
  }
}

/** Forgets `end` (it published, or closed). */
export function published(end: Publisher): void {
  pending.delete(end);
}

/**
 * Publishes every end of this thread now: before a wait, so that a process
 * that sends a request and then waits for the answer never sits on its
 * own request.
 */
export function publishAll(): void {
  if (pending.size === 0) return;
  for (const end of pending) {
    pending.delete(end);
    end.publish();
  }
}
