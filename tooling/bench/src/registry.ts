// What a benchmark case is, what it returns, and the context it runs in.
import type { SyncAdapter } from './sync/adapter.js';

/**
 * 'ns' rows are latencies (lower is better); 'GB/s' rows are throughputs
 * (10^9 bytes/s, higher is better); 'threads' and 'MiB' rows are resources
 * a workload holds (lower is better).
 */
export type Unit = 'ns' | 'GB/s' | 'threads' | 'MiB';

export type GroupId =
  | 'call'
  | 'latency'
  | 'waits'
  | 'pending'
  | 'messages'
  | 'bulk'
  | 'mapping'
  | 'contention';

export const GROUPS: Record<GroupId, string> = {
  call: 'Call overhead (per operation)',
  latency: 'Round trip between two processes (one small message)',
  messages: 'Message rate between two processes (one way, per message)',
  waits: 'Async and sync waits: round trip between two node processes, per primitive',
  pending: 'Many pending async waits in one process',
  bulk: 'Bulk throughput between two processes',
  mapping: 'Mapping',
  contention: 'Contention under one mutex',
};

/** Iteration counts and sizes for the run: full or smoke. */
export interface Scale {
  smoke: boolean;
  /** Timed batches for call-overhead cases. */
  batches: number;
  /** Operations per batch for call-overhead cases. */
  opsPerBatch: number;
  /** Round trips timed one by one (latency cases), over all passes. */
  roundTrips: number;
  /**
   * Latency cases run in this many interleaved passes (each with
   * roundTrips / passes round trips); the row is the median over passes.
   */
  passes: number;
  /** Bytes moved by each bulk transfer. */
  bulkBytes: number;
  /** Repeats of each bulk transfer and file scan. */
  bulkRepeats: number;
  /** Size of the scanned file. */
  scanBytes: number;
  /** Map+close operations per batch. */
  mapOps: number;
  /** Milliseconds each contention level runs. */
  contentionMs: number;
  /** Size of the POSIX shared memory objects the create cases make. */
  shmBytes: number;
}

export const FULL: Scale = {
  smoke: false,
  // Short batches, many rounds: most batches then miss the other work on a
  // shared machine entirely, and the median is one of those.
  batches: 101,
  opsPerBatch: 50_000,
  roundTrips: 10_000,
  passes: 5,
  bulkBytes: 1024 ** 3,
  bulkRepeats: 5,
  scanBytes: 512 * 1024 ** 2,
  mapOps: 1_000,
  contentionMs: 1_000,
  shmBytes: 256 * 1024 ** 2,
};

export const SMOKE: Scale = {
  smoke: true,
  batches: 5,
  opsPerBatch: 20_000,
  roundTrips: 300,
  passes: 1,
  bulkBytes: 32 * 1024 ** 2,
  bulkRepeats: 1,
  scanBytes: 16 * 1024 ** 2,
  mapOps: 500,
  contentionMs: 150,
  shmBytes: 16 * 1024 ** 2,
};

/** What a case gets from the runner. */
export interface Context {
  scale: Scale;
  /** A private temp directory for this run, removed at the end. */
  tmpDir: string;
  sync: SyncAdapter;
  log(message: string): void;
}

export type Outcome =
  | {
      kind: 'measured';
      /** Median: ns per operation / round trip, or GB/s. */
      value: number;
      p99?: number;
      samples: number;
      /** Produced by a stand-in (the temporary sync adapter): not a shmkit figure yet. */
      provisional?: boolean;
      note?: string;
      /** Extra figures shown in the notes column and JSON (fairness...). */
      extra?: Record<string, number>;
    }
  | { kind: 'pending'; reason: string };

export interface BenchCase {
  /**
   * Run in interleaved passes with the other interleaved cases of its group
   * (see Scale.passes): for latencies that swing with the machine's load, so
   * a row and its baseline see the same conditions. A group id instead of
   * `true` joins that group's passes while the row is still reported in its
   * own group (so rows of two tables compared in a target alternate too).
   */
  interleave?: boolean | GroupId;
  /** Stable id used by --filter, the JSON results, targets and baselines. */
  id: string;
  group: GroupId;
  title: string;
  unit: Unit;
  /** Id of a case in the same run this one is compared to (ratio column). */
  baseline?: string;
  /**
   * This row is a floor (no row compared to it can take less time) or a
   * ceiling (no row compared to it can move more GB/s). A row that beats
   * its bound proves the bound wrong and is reported so, never as a win.
   */
  bound?: 'floor' | 'ceiling';
  /** True when p99 is meaningful for this row (latency distributions). */
  p99?: boolean;
  /**
   * Words for the row's extra figures, added to its note. Interleaved rows
   * get the median of each extra figure over their passes, so the words
   * are made from those, after the passes.
   */
  describe?(extra: Record<string, number>): string | undefined;
  /** A case measured on its own. */
  run?(ctx: Context): Promise<Outcome>;
  /**
   * A cheap operation timed in batches. The runner interleaves the batches of
   * every micro case of a group, round-robin, so a burst of other work on the
   * machine hits a case and its baseline alike and their ratio stays honest.
   */
  micro?(ctx: Context): Micro;
}

/** What a micro case hands the runner. */
export interface Micro {
  /** Performs `n` operations. */
  batch(n: number): void;
  opsPerBatch: number;
  /** Produced by a stand-in (see Outcome). */
  provisional?: boolean;
  note?: string;
  /** Releases what the setup created, after the last batch. */
  dispose?(): void;
}

/** A measured or pending row, as printed, saved and charted. */
export interface Row {
  id: string;
  group: GroupId;
  title: string;
  unit: Unit;
  status: 'measured' | 'provisional' | 'pending' | 'failed';
  value?: number;
  p99?: number;
  samples?: number;
  baseline?: string;
  bound?: 'floor' | 'ceiling';
  /** value / baseline value (for 'ns', >1 means slower; for 'GB/s', >1 means faster). */
  ratio?: number;
  note?: string;
  extra?: Record<string, number>;
}
