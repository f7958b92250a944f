// Row ids of the wait-engine cases, shared by the cases that make the rows
// and the targets that judge them.
import { backendSuffix, type BackendChoice } from './backend.js';
import type { Primitive } from './pairs.js';

/** Every primitive with an async round-trip row, in report order. */
export const WAIT_PRIMITIVES: readonly Primitive[] = [
  'event',
  'futex',
  'mutex',
  'semaphore',
  'named-semaphore',
];

/** How many async waits pend at once in the many-waits rows. */
export const PENDING_COUNTS = [1, 100, 10_000] as const;

export type PendingMetric =
  | 'threads'
  | 'rss'
  | 'register-cancel'
  | 'register-cancel-stackless'
  | 'settle';

/** The sync round trip of `primitive` (no backend: sync waits park on the calling thread). */
export function syncRttId(primitive: Primitive): string {
  return `wait-rtt.${primitive}.sync`;
}

/** The async round trip of `primitive` on `choice`. */
export function asyncRttId(primitive: Primitive, choice: BackendChoice): string {
  return `wait-rtt.${primitive}.async${backendSuffix(choice)}`;
}

export function pendingId(choice: BackendChoice, waits: number, metric: PendingMetric): string {
  return `pending${backendSuffix(choice)}.n${waits}.${metric}`;
}
