// The seam between the sync benchmarks and the library they measure. The
// case modules (cases/sync-*.ts) only talk to a SyncAdapter, so plugging in
// the real @shmkit/sync is one new file implementing this interface plus one
// line in sync/index.ts (see tooling/bench/README.md).
import type { Mapping } from '@shmkit/core';

/** A process-shared mutex placed in a mapping. */
export interface BenchMutex {
  lock(): void;
  unlock(): void;
}

/** A process-shared counting semaphore placed in a mapping. */
export interface BenchSemaphore {
  post(): void;
  /** Takes a unit if one is available; never waits. */
  tryWait(): boolean;
}

/**
 * An auto-reset event: `set()` lets exactly one `wait()` through. The
 * ping-pong cases use two of them, one per direction.
 */
export interface BenchEvent {
  set(): void;
  /** Waits until set, then resets. Spins first when the adapter was told to. */
  wait(): void;
}

/** How a primitive is placed: in `mapping` at byte `offset`. */
export interface Placement {
  mapping: Mapping;
  offset: number;
  /** True in the process that creates the primitive; false where it attaches. */
  init: boolean;
}

/** Wait tuning for {@link SyncAdapter.event}. */
export interface WaitTuning {
  /** Spin iterations on the shared word before parking; 0 parks at once. */
  spin: number;
}

/**
 * What the sync benchmarks need from a synchronisation library. Every
 * primitive lives in shared memory at a caller-chosen offset, so two
 * processes that map the same file see the same primitive.
 */
export interface SyncAdapter {
  /** Shown in the report next to every row this adapter produced. */
  readonly name: string;
  /**
   * True for a stand-in that is not @shmkit/sync: its rows are reported as
   * provisional and never count as a target achieved.
   */
  readonly provisional: boolean;
  /**
   * True if waits can park in the kernel (futex). Rows that measure blocking
   * behaviour are reported as pending without it rather than faked.
   */
  readonly parks: boolean;
  /** Bytes each primitive occupies; cases place them at 128-byte multiples at least this large. */
  readonly sizes: { mutex: number; semaphore: number; event: number };
  mutex(at: Placement): BenchMutex;
  semaphore(at: Placement, initial: number): BenchSemaphore;
  event(at: Placement, tuning: WaitTuning): BenchEvent;
}

/** Bytes reserved for one primitive: a multiple of 128 (no false sharing) at least `size`. */
export function slotBytes(size: number): number {
  return Math.max(128, Math.ceil(size / 128) * 128);
}
