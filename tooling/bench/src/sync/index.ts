// Picks the SyncAdapter the sync cases use. When @shmkit/sync lands, import
// its adapter here and return it (tooling/bench/README.md shows how);
// SHMKIT_BENCH_SYNC=temporary still forces the stand-in for comparison.
import type { SyncAdapter } from './adapter.js';
import { temporaryAdapter } from './temporary.js';

export type { SyncAdapter } from './adapter.js';

/** The adapter for this run; child processes call it too and get the same one. */
export function loadSyncAdapter(): SyncAdapter {
  return temporaryAdapter;
}
