// shmkit limits: the kernel's limits on shared memory, semaphores and
// message queues, how much of each is in use, and what each means for a
// shmkit program.
import { readFileSync, statfsSync } from 'node:fs';
import { pageSize } from '@shmkit/core';
import { native } from '@shmkit/core/internal';
import { parse, wantsHelp } from '../args';
import { EXIT_OK } from '../errors';
import { formatSize } from '../format';
import { JSON_SCHEMA } from '../model';
import { SHM_DIR } from '../sources/inventory';
import { messageQueues, segments, semaphoreSets } from '../sources/sysvipc';
import { wrap } from '../table';
import type { Command } from './context';

/** One limit as `limits --json` reports it. */
export interface Limit {
  /** The kernel's name: SHMMAX, SEMMSL, RLIMIT_MEMLOCK... */
  name: string;
  /** Where it comes from: a /proc path, statfs, getrlimit, capabilities. */
  source: string;
  /**
   * The value: a number, a string of digits when above 2^53 - 1, a boolean
   * for a capability, or null when there is no limit.
   */
  value: number | string | boolean | null;
  /** `bytes`, `pages`, `count` or `flag`. */
  unit: 'bytes' | 'pages' | 'count' | 'flag';
  /** How much of it is in use now, when that is known. */
  used: number | null;
  /** What it means for shmkit. */
  meaning: string;
}

function proc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function exact(text: string | undefined): number | string | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** Every limit, read now. */
export function readLimits(): Limit[] {
  const page = pageSize();
  const shm = segments().segments;
  const sets = semaphoreSets().sets;
  const queues = messageQueues().queues;
  const sem = (proc('/proc/sys/kernel/sem') ?? '').split(/\s+/);
  const limits: Limit[] = [
    {
      name: 'SHMMAX',
      source: '/proc/sys/kernel/shmmax',
      value: exact(proc('/proc/sys/kernel/shmmax')),
      unit: 'bytes',
      used: shm.reduce((max, s) => Math.max(max, s.size), 0),
      meaning:
        'the largest System V segment: SysvSegment.create fails with EINVAL above it (used: the largest segment now)',
    },
    {
      name: 'SHMALL',
      source: '/proc/sys/kernel/shmall',
      value: exact(proc('/proc/sys/kernel/shmall')),
      unit: 'pages',
      used: shm.reduce((sum, s) => sum + Math.ceil(s.size / page), 0),
      meaning: `all System V segments together, in ${page}-byte pages: a create past it fails with ENOSPC`,
    },
    {
      name: 'SHMMNI',
      source: '/proc/sys/kernel/shmmni',
      value: exact(proc('/proc/sys/kernel/shmmni')),
      unit: 'count',
      used: shm.length,
      meaning: 'how many System V segments may exist: SysvSegment.create fails with ENOSPC beyond',
    },
    {
      name: 'shm_rmid_forced',
      source: '/proc/sys/kernel/shm_rmid_forced',
      value: proc('/proc/sys/kernel/shm_rmid_forced') === '1',
      unit: 'flag',
      used: null,
      meaning:
        'when on, a segment is removed once its creator has exited and nothing is attached; when off (the default) segments outlive everyone until removed',
    },
    {
      name: 'SEMMSL',
      source: '/proc/sys/kernel/sem (1st)',
      value: exact(sem[0]),
      unit: 'count',
      used: sets.reduce((max, s) => Math.max(max, s.nsems), 0),
      meaning:
        'semaphores in one set: the largest count SysvSemaphoreSet.create accepts (EINVAL above)',
    },
    {
      name: 'SEMMNS',
      source: '/proc/sys/kernel/sem (2nd)',
      value: exact(sem[1]),
      unit: 'count',
      used: sets.reduce((sum, s) => sum + s.nsems, 0),
      meaning: 'System V semaphores in all sets together: create fails with ENOSPC past it',
    },
    {
      name: 'SEMOPM',
      source: '/proc/sys/kernel/sem (3rd)',
      value: exact(sem[2]),
      unit: 'count',
      used: null,
      meaning: 'operations in one SysvSemaphoreSet op() call: more fail with E2BIG',
    },
    {
      name: 'SEMMNI',
      source: '/proc/sys/kernel/sem (4th)',
      value: exact(sem[3]),
      unit: 'count',
      used: sets.length,
      meaning: 'how many System V semaphore sets may exist: create fails with ENOSPC beyond',
    },
    {
      name: 'MSGMAX',
      source: '/proc/sys/kernel/msgmax',
      value: exact(proc('/proc/sys/kernel/msgmax')),
      unit: 'bytes',
      used: null,
      meaning: 'the largest System V message: a larger send fails with EINVAL',
    },
    {
      name: 'MSGMNB',
      source: '/proc/sys/kernel/msgmnb',
      value: exact(proc('/proc/sys/kernel/msgmnb')),
      unit: 'bytes',
      used: queues.reduce((max, q) => Math.max(max, q.cbytes), 0),
      meaning:
        'bytes one System V queue holds: a send to a full queue waits (or fails with EAGAIN) (used: the fullest queue)',
    },
    {
      name: 'MSGMNI',
      source: '/proc/sys/kernel/msgmni',
      value: exact(proc('/proc/sys/kernel/msgmni')),
      unit: 'count',
      used: queues.length,
      meaning: 'how many System V message queues may exist: creating more fails with ENOSPC',
    },
  ];
  const mq = proc('/proc/sys/fs/mqueue/queues_max');
  if (mq !== undefined) {
    limits.push(
      {
        name: 'mqueue queues_max',
        source: '/proc/sys/fs/mqueue/queues_max',
        value: exact(mq),
        unit: 'count',
        used: null,
        meaning:
          'POSIX message queues on the system (root is exempt): mq_open fails with ENOSPC beyond',
      },
      {
        name: 'mqueue msg_max',
        source: '/proc/sys/fs/mqueue/msg_max',
        value: exact(proc('/proc/sys/fs/mqueue/msg_max')),
        unit: 'count',
        used: null,
        meaning: 'the most messages a POSIX queue may be created to hold without CAP_SYS_RESOURCE',
      },
      {
        name: 'mqueue msgsize_max',
        source: '/proc/sys/fs/mqueue/msgsize_max',
        value: exact(proc('/proc/sys/fs/mqueue/msgsize_max')),
        unit: 'bytes',
        used: null,
        meaning: 'the largest message a POSIX queue may be created for without CAP_SYS_RESOURCE',
      },
    );
  }
  let total: number | null = null;
  let used: number | null = null;
  try {
    const fs = statfsSync(SHM_DIR);
    total = fs.blocks * fs.bsize;
    used = (fs.blocks - fs.bfree) * fs.bsize;
  } catch {
    // no /dev/shm: POSIX shared memory is unavailable, and the values say so
  }
  limits.push({
    name: '/dev/shm size',
    source: `statfs ${SHM_DIR}`,
    value: total,
    unit: 'bytes',
    used,
    meaning:
      'room for every POSIX shared memory object and named semaphore together. PosixShm.create reserves its pages, so a full /dev/shm fails there with ENOSPC, never later with SIGBUS',
  });
  const memlock = native.mlockLimits();
  const status = native.mlockStatus();
  limits.push(
    {
      name: 'RLIMIT_MEMLOCK',
      source: 'getrlimit (soft; ulimit -l)',
      value: Number.isFinite(memlock.soft) ? memlock.soft : null,
      unit: 'bytes',
      used: status.locked,
      meaning: `what this process may lock in memory without CAP_IPC_LOCK (the hard limit is ${Number.isFinite(memlock.hard) ? formatSize(memlock.hard) : 'unlimited'}): mlock, lockAll and MLOCK_ONFAULT fail with ENOMEM or EPERM past it, and SysvSegment.lock counts against it`,
    },
    {
      name: 'CAP_IPC_LOCK',
      source: '/proc/self/status (CapEff)',
      value: status.ipcLock,
      unit: 'flag',
      used: null,
      meaning:
        'lifts RLIMIT_MEMLOCK for this process, and lets it create huge-page System V segments',
    },
  );
  return limits;
}

function valueText(limit: Limit): string {
  if (limit.value === null)
    return limit.unit === 'bytes' && limit.name === '/dev/shm size' ? '?' : 'unlimited';
  if (typeof limit.value === 'boolean') return limit.value ? 'yes' : 'no';
  if (limit.unit === 'bytes') return formatSize(BigInt(limit.value));
  // SHMALL's default is near 2^64 pages: say so in a few characters.
  const n = Number(limit.value);
  return n > 999_999_999 ? n.toExponential(1).replace('+', '') : String(n);
}

function usedText(limit: Limit): string {
  if (limit.used === null) return '';
  return limit.unit === 'bytes' ? formatSize(limit.used) : String(limit.used);
}

const HELP = `Usage: shmkit limits [--json]

The system's limits on System V shared memory, semaphores and message
queues, POSIX message queues and /dev/shm, this process's RLIMIT_MEMLOCK
and CAP_IPC_LOCK: each with how much is in use and what it means for a
shmkit program. Sizes read like ls -h (4.0K, 64M).

Options:
      --json   print the limits as JSON (exact values; see the README)
  -h, --help   show this help
`;

export const limits: Command = {
  name: 'limits',
  summary: 'show the kernel limits that matter for shared memory, and their use',
  help: HELP,
  run(args, context) {
    if (wantsHelp(args)) {
      context.out.write(HELP);
      return EXIT_OK;
    }
    const { values } = parse(
      'limits',
      args,
      { json: { type: 'boolean' } },
      { min: 0, max: 0, what: '' },
    );
    const all = readLimits();
    if (values.json === true) {
      context.out.line(
        JSON.stringify({ shmkit: 'limits', schema: JSON_SCHEMA, limits: all }, null, 2),
      );
      return EXIT_OK;
    }
    const rows = all.map(
      (limit) => [limit.name, valueText(limit), usedText(limit), limit.meaning] as const,
    );
    const widths = [0, 1, 2].map((i) =>
      Math.max(['LIMIT', 'VALUE', 'USED'][i]!.length, ...rows.map((r) => r[i]!.length)),
    );
    const indent = widths[0]! + widths[1]! + widths[2]! + 6;
    const room = Math.max(24, context.out.width - indent);
    const head = (cells: readonly string[]) =>
      `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]!.padStart(widths[1]!)}  ${cells[2]!.padStart(widths[2]!)}  ${cells[3]}`.trimEnd();
    context.out.line(context.out.paint('bold', head(['LIMIT', 'VALUE', 'USED', 'MEANING'])));
    for (const [name, value, used, meaning] of rows) {
      const [first = '', ...rest] = wrap(meaning, room);
      context.out.line(head([name, value, used, first]));
      for (const line of rest) context.out.line(`${' '.repeat(indent)}${line}`);
    }
    return EXIT_OK;
  },
};
