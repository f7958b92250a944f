// Which live processes use which object, from /proc/PID/maps (mappings,
// System V attachments) and /proc/PID/fd (open descriptors), the way lsof
// and fuser find out. A process whose maps this user may not read is
// counted, not guessed: callers say "N processes could not be checked".
import { readdirSync, readFileSync, statSync } from 'node:fs';

/** A process as /proc/PID/status describes it. */
export interface ProcessInfo {
  readonly pid: number;
  /** The filesystem uid and gid permission checks use (Uid/Gid field 4). */
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

/** How a process uses an object. */
export type Use = 'map' | 'fd';

/** pid -> how it uses the object. */
export type UseMap = Map<number, Set<Use>>;

/** What one pass over /proc found. */
export interface ProcessScan {
  /** Mapped or open files on the devices asked for, by `dev:ino`. */
  readonly files: ReadonlyMap<string, UseMap>;
  /** System V attachments (maps entries `/SYSV<key>`), by shmid. */
  readonly segments: ReadonlyMap<number, UseMap>;
  /** Live processes whose maps or descriptors could not be read. */
  readonly unchecked: readonly ProcessInfo[];
  /** Every pid seen alive. */
  readonly alive: ReadonlySet<number>;
}

/** The key `ProcessScan.files` uses for a file. */
export function fileKey(dev: number | bigint, ino: number | bigint): string {
  return `${dev}:${ino}`;
}

/** glibc's makedev: the st_dev of a `major:minor` pair as /proc/PID/maps prints it (hex). */
export function deviceNumber(text: string): bigint {
  const [majorText = '0', minorText = '0'] = text.split(':');
  const major = BigInt(parseInt(majorText, 16));
  const minor = BigInt(parseInt(minorText, 16));
  return (
    (minor & 0xffn) |
    ((major & 0xfffn) << 8n) |
    ((minor & ~0xffn) << 12n) |
    ((major & ~0xfffn) << 32n)
  );
}

function add(map: Map<string | number, UseMap>, key: string | number, pid: number, use: Use): void {
  let uses = map.get(key);
  if (uses === undefined) map.set(key, (uses = new Map()));
  let how = uses.get(pid);
  if (how === undefined) uses.set(pid, (how = new Set()));
  how.add(use);
}

function isDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

function numbers(line: string | undefined): number[] {
  return (line ?? '').split(/\s+/).slice(1).filter(Boolean).map(Number);
}

/** /proc/PID/status: ids for permission checks; undefined if the process is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => status.split('\n').find((line) => line.startsWith(`${name}:`));
  const uids = numbers(field('Uid'));
  const gids = numbers(field('Gid'));
  return {
    pid,
    uid: uids[3] ?? uids[0] ?? -1,
    gid: gids[3] ?? gids[0] ?? -1,
    groups: numbers(field('Groups')),
  };
}

/** The state letter of /proc/PID/stat (R, S, D, Z, X...), or undefined when no such task exists. */
export function taskState(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself hold ') ': the
    // state is the first field after the last one.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * When a task started: field 22 of /proc/PID/stat (clock ticks since boot),
 * or undefined when no such task exists. With the id it names a task for
 * good, since the kernel reuses ids but not start times.
 */
export function startTime(pid: number): number | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process or thread with this id is alive: it exists and is not
 * a zombie (dead, not yet reaped). Thread ids work too (/proc/TID exists
 * for every thread, listed or not). Only meaningful in this PID namespace.
 */
export function isAlive(pid: number): boolean {
  const state = taskState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** A process's command name (/proc/PID/comm), null if unreadable. */
export function commandName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd();
  } catch {
    return null;
  }
}

/** The thread group (process) a thread belongs to, from /proc/TID/status. */
export function threadGroup(tid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${tid}/status`, 'utf8');
    const tgid = /^Tgid:\s+(\d+)/m.exec(status)?.[1];
    return tgid === undefined ? undefined : Number(tgid);
  } catch {
    return undefined;
  }
}

/** Options of {@link scanProcesses}. */
export interface ScanOptions {
  /** Devices (st_dev) whose files matter: /dev/shm's, /dev/mqueue's, a FIFO's. */
  readonly devices: ReadonlySet<bigint>;
  /** Also look at open descriptors (costs a stat per descriptor). Default true. */
  readonly descriptors?: boolean;
}

/**
 * One pass over every process in /proc, this one included (`list()` runs
 * inside programs that map objects; the command itself maps nothing while
 * it looks).
 */
export function scanProcesses(options: ScanOptions): ProcessScan {
  const files = new Map<string, UseMap>();
  const segments = new Map<number, UseMap>();
  const unchecked: ProcessInfo[] = [];
  const alive = new Set<number>();
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    pids = [];
  }
  for (const pid of pids) {
    if (!isAlive(pid)) continue;
    alive.add(pid);
    let denied = false;
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        readMapsLine(line, pid, options.devices, files, segments);
      }
    } catch (error) {
      denied ||= isDenied(error);
    }
    if (options.descriptors !== false && !denied) {
      try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          const path = `/proc/${pid}/fd/${fd}`;
          try {
            const st = statSync(path, { bigint: true });
            if (options.devices.has(st.dev)) add(files, fileKey(st.dev, st.ino), pid, 'fd');
          } catch {
            // closed meanwhile, or a target that cannot be stat'ed (a socket of a dead peer)
          }
        }
      } catch (error) {
        denied ||= isDenied(error);
      }
    }
    if (denied) {
      const info = processInfo(pid);
      if (info !== undefined) unchecked.push(info);
    }
  }
  return { files, segments, unchecked, alive };
}

// 7f1c2e000000-7f1c2e001000 rw-s 00000000 00:1a 1234   /dev/shm/name (deleted)
// 7f1c2e000000-7f1c2e001000 rw-s 00000000 00:01 32769  /SYSV5a00ab01 (deleted)
function readMapsLine(
  line: string,
  pid: number,
  devices: ReadonlySet<bigint>,
  files: Map<string, UseMap>,
  segments: Map<number, UseMap>,
): void {
  const fields = line.split(/\s+/, 6);
  if (fields.length < 6) return;
  const [, , , dev = '', inode = '0', path = ''] = fields;
  if (inode === '0') return;
  if (path.startsWith('/SYSV')) {
    add(segments, Number(inode), pid, 'map');
    return;
  }
  const device = deviceNumber(dev);
  if (devices.has(device)) add(files, fileKey(device, BigInt(inode)), pid, 'map');
}

/** Whose permission bits apply to an object: System V objects have an owner and a creator. */
export interface Permissions {
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  readonly mode: number;
}

/**
 * Whether a process could open an object by its permission bits (owner,
 * group, other; read or write), not counting capabilities such as root's
 * CAP_DAC_OVERRIDE: the processes "that could be using it".
 */
export function couldOpen(process: ProcessInfo, object: Permissions): boolean {
  if (object.uids.includes(process.uid)) return (object.mode & 0o600) !== 0;
  if (object.gids.some((gid) => gid === process.gid || process.groups.includes(gid)))
    return (object.mode & 0o060) !== 0;
  return (object.mode & 0o006) !== 0;
}
