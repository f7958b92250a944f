// Helpers shared by the sync case modules.
import type { Outcome } from '../registry.js';
import type { SyncAdapter } from '../sync/adapter.js';

/** The row a case reports when the adapter in use cannot measure it honestly. */
export function pendingWithout(sync: SyncAdapter, what: string): Outcome {
  return {
    kind: 'pending',
    reason: `pending @shmkit/sync: ${what}; the ${sync.name} cannot park a waiter across processes`,
  };
}

/** Marks an outcome provisional when it came from a stand-in adapter. */
export function tag(sync: SyncAdapter, outcome: Outcome): Outcome {
  if (outcome.kind !== 'measured' || !sync.provisional) return outcome;
  const note = `${sync.name}, not @shmkit/sync`;
  return {
    ...outcome,
    provisional: true,
    note: outcome.note === undefined ? note : `${note}; ${outcome.note}`,
  };
}
