// Picks the SyncAdapter the sync cases use: @shmkit/sync by default.
// SHMKIT_BENCH_SYNC selects another one for comparison:
//   shmkit     @shmkit/sync (the default)
//   temporary  plain Atomics, cannot park
//   reference  Atomics + a minimal C futex addon compiled by the bench
import type { SyncAdapter } from './adapter.js';
import { referenceAdapter } from './reference.js';
import { shmkitAdapter } from './shmkit.js';
import { temporaryAdapter } from './temporary.js';

export type { SyncAdapter } from './adapter.js';

export type AdapterKind = 'default' | 'shmkit' | 'temporary' | 'reference';

/**
 * The adapter for this run. Child processes get the kind from their parent
 * (case args), so both ends of a two-process case use the same one.
 */
export function loadSyncAdapter(kind: AdapterKind = 'default'): SyncAdapter {
  const chosen = kind === 'default' ? (process.env.SHMKIT_BENCH_SYNC ?? 'shmkit') : kind;
  switch (chosen) {
    case 'shmkit':
      return shmkitAdapter;
    case 'reference':
      return referenceAdapter;
    case 'temporary':
      return temporaryAdapter;
    default:
      throw new Error(`SHMKIT_BENCH_SYNC=${chosen}: expected 'shmkit', 'temporary' or 'reference'`);
  }
}
