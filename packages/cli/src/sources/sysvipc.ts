// System V IPC objects as the kernel lists them in /proc/sysvipc: every
// segment, semaphore set and message queue of this IPC namespace, whatever
// their permissions (what `ipcs` reads too).
import { readFileSync } from 'node:fs';
import { listSegments, type SegmentInfo } from '@shmkit/sysv-shm';

/** One row of /proc/sysvipc/sem. */
export interface SemSetRow {
  key: number;
  id: number;
  perms: number;
  nsems: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  otime: Date | null;
  ctime: Date | null;
}

/** One row of /proc/sysvipc/msg. */
export interface MsgQueueRow {
  key: number;
  id: number;
  perms: number;
  cbytes: number;
  qnum: number;
  lspid: number;
  lrpid: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  stime: Date | null;
  rtime: Date | null;
  ctime: Date | null;
}

/**
 * The rows of a /proc/sysvipc table as name -> text, the columns found by
 * their header (kernels add columns over time). An unreadable table (no
 * /proc, no System V IPC) reads as empty, with the reason returned.
 */
export function readTable(path: string): { rows: Array<Map<string, string>>; error?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { rows: [], error: `cannot read ${path} (${(error as NodeJS.ErrnoException).code})` };
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = lines.shift()?.trim().split(/\s+/) ?? [];
  const rows = lines.map((line) => {
    const fields = line.trim().split(/\s+/);
    return new Map(header.map((name, i) => [name, fields[i] ?? '']));
  });
  return { rows };
}

const num = (row: Map<string, string>, name: string) => Number(row.get(name) ?? NaN);
const time = (row: Map<string, string>, name: string) => {
  const seconds = num(row, name);
  return seconds > 0 ? new Date(seconds * 1000) : null;
};
// The kernel prints keys as signed ints: -1 is 0xffffffff.
const key = (row: Map<string, string>) => num(row, 'key') >>> 0;

/** Every System V semaphore set, by id. */
export function semaphoreSets(): { sets: SemSetRow[]; error?: string } {
  const { rows, error } = readTable('/proc/sysvipc/sem');
  const sets = rows.map((row) => ({
    key: key(row),
    id: num(row, 'semid'),
    perms: parseInt(row.get('perms') ?? '0', 8),
    nsems: num(row, 'nsems'),
    uid: num(row, 'uid'),
    gid: num(row, 'gid'),
    cuid: num(row, 'cuid'),
    cgid: num(row, 'cgid'),
    otime: time(row, 'otime'),
    ctime: time(row, 'ctime'),
  }));
  return { sets: sets.sort((a, b) => a.id - b.id), ...(error === undefined ? {} : { error }) };
}

/** Every System V message queue, by id. */
export function messageQueues(): { queues: MsgQueueRow[]; error?: string } {
  const { rows, error } = readTable('/proc/sysvipc/msg');
  const queues = rows.map((row) => ({
    key: key(row),
    id: num(row, 'msqid'),
    perms: parseInt(row.get('perms') ?? '0', 8),
    cbytes: num(row, 'cbytes'),
    qnum: num(row, 'qnum'),
    lspid: num(row, 'lspid'),
    lrpid: num(row, 'lrpid'),
    uid: num(row, 'uid'),
    gid: num(row, 'gid'),
    cuid: num(row, 'cuid'),
    cgid: num(row, 'cgid'),
    stime: time(row, 'stime'),
    rtime: time(row, 'rtime'),
    ctime: time(row, 'ctime'),
  }));
  return { queues: queues.sort((a, b) => a.id - b.id), ...(error === undefined ? {} : { error }) };
}

/** Every System V segment (through @shmkit/sysv-shm's own parser). */
export function segments(): { segments: SegmentInfo[]; error?: string } {
  try {
    return { segments: listSegments() };
  } catch (error) {
    return { segments: [], error: (error as Error).message };
  }
}
