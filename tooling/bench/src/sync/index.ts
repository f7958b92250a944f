// Picks the SyncAdapter the sync cases use. When @shmkit/sync lands, import
// its adapter here and return it by default (tooling/bench/README.md shows
// how). SHMKIT_BENCH_SYNC selects another one for comparison:
//   temporary  plain Atomics, cannot park (the default until @shmkit/sync lands)
//   reference  Atomics + a minimal C futex addon compiled by the bench
import type { SyncAdapter } from './adapter.js';
import { referenceAdapter } from './reference.js';
import { temporaryAdapter } from './temporary.js';

export type { SyncAdapter } from './adapter.js';

export type AdapterKind = 'default' | 'temporary' | 'reference';

/**
 * The adapter for this run. Child processes get the kind from their parent
 * (case args), so both ends of a two-process case use the same one.
 */
export function loadSyncAdapter(kind: AdapterKind = 'default'): SyncAdapter {
  const chosen = kind === 'default' ? (process.env.SHMKIT_BENCH_SYNC ?? 'temporary') : kind;
  switch (chosen) {
    case 'reference':
      return referenceAdapter;
    case 'temporary':
      return temporaryAdapter;
    default:
      throw new Error(`SHMKIT_BENCH_SYNC=${chosen}: expected 'temporary' or 'reference'`);
  }
}
