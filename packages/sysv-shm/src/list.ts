import { readFileSync } from 'node:fs';
import { codedError, ownerLabel } from '@shmkit/core/internal';

/**
 * One row of `ipcs -m`, and more: what /proc/sysvipc/shm says about a
 * segment. Times are `null` when the event has not happened yet.
 */
export interface SegmentInfo {
  /** The key (0 for IPC_PRIVATE segments and removed ones). */
  key: number;
  /** The segment id (shmid). */
  id: number;
  /** Permission bits (perms & 0o777). */
  mode: number;
  /** Marked for removal, still attached (`ipcs` status "dest"). */
  removed: boolean;
  /** Locked in memory (`ipcs` status "locked"). */
  locked: boolean;
  /** Size in bytes. */
  size: number;
  /** Current attachments. */
  nattch: number;
  /** Owner user id. */
  uid: number;
  /**
   * Owner user name (`getpwuid_r`, so directory-service users resolve too),
   * or the uid as a string when it has none (as `ipcs` prints it).
   */
  owner: string;
  /** Owner group id. */
  gid: number;
  /** Creator user id. */
  cuid: number;
  /** Creator group id. */
  cgid: number;
  /** Pid of the creator. */
  cpid: number;
  /** Pid of the last process to attach or detach. */
  lpid: number;
  /** Last attach time. */
  atime: Date | null;
  /** Last detach time. */
  dtime: Date | null;
  /** Last change time (creation, IPC_SET, IPC_RMID). */
  ctime: Date | null;
  /** Resident bytes, when the kernel reports it. */
  rss?: number;
  /** Swapped-out bytes, when the kernel reports it. */
  swap?: number;
}

/** System-wide limits on System V shared memory, from /proc/sys/kernel. */
export interface ShmLimits {
  /** Largest segment in bytes (kernel.shmmax). A bigint: the default is near 2^64. */
  shmmax: bigint;
  /** Smallest segment in bytes (always 1 on Linux). */
  shmmin: number;
  /** Total shared memory in pages across all segments (kernel.shmall). */
  shmall: bigint;
  /** Most segments the system holds (kernel.shmmni). */
  shmmni: number;
  /**
   * kernel.shm_rmid_forced: when true the kernel removes segments whose
   * creator exited with no attachment left, so a segment cannot outlive
   * everyone who used it.
   */
  rmidForced: boolean;
}

const SHM_DEST = 0o1000;
const SHM_LOCKED = 0o2000;

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw codedError(
      'ERR_SHMKIT_UNSUPPORTED',
      `cannot read ${path} (${code}): System V IPC information needs Linux with /proc mounted`,
    );
  }
}

function time(seconds: number): Date | null {
  return seconds === 0 ? null : new Date(seconds * 1000);
}

/**
 * Parses the text of /proc/sysvipc/shm. Columns are found by their header
 * names, so kernels that add columns (rss, swap) or reorder them still parse.
 * @internal Exported for tests.
 */
export function parseSysvipcShm(text: string): SegmentInfo[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = lines.shift()?.trim().split(/\s+/) ?? [];
  const column = (name: string) => header.indexOf(name);
  const at = {
    key: column('key'),
    id: column('shmid'),
    perms: column('perms'),
    size: column('size'),
    cpid: column('cpid'),
    lpid: column('lpid'),
    nattch: column('nattch'),
    uid: column('uid'),
    gid: column('gid'),
    cuid: column('cuid'),
    cgid: column('cgid'),
    atime: column('atime'),
    dtime: column('dtime'),
    ctime: column('ctime'),
    rss: column('rss'),
    swap: column('swap'),
  };
  return lines.map((line) => {
    const fields = line.trim().split(/\s+/);
    const num = (index: number) => Number(fields[index] ?? NaN);
    // The kernel prints the key as a signed int: -1 is 0xffffffff.
    const perms = parseInt(fields[at.perms] ?? '0', 8);
    const uid = num(at.uid);
    const info: SegmentInfo = {
      key: num(at.key) >>> 0,
      id: num(at.id),
      mode: perms & 0o777,
      removed: (perms & SHM_DEST) !== 0,
      locked: (perms & SHM_LOCKED) !== 0,
      size: num(at.size),
      nattch: num(at.nattch),
      uid,
      owner: ownerLabel(uid),
      gid: num(at.gid),
      cuid: num(at.cuid),
      cgid: num(at.cgid),
      cpid: num(at.cpid),
      lpid: num(at.lpid),
      atime: time(num(at.atime)),
      dtime: time(num(at.dtime)),
      ctime: time(num(at.ctime)),
    };
    if (at.rss >= 0) info.rss = num(at.rss);
    if (at.swap >= 0) info.swap = num(at.swap);
    return info;
  });
}

/**
 * Every System V shared memory segment in this IPC namespace, as `ipcs -m`
 * lists them (read from /proc/sysvipc/shm), sorted by id. Listing needs no
 * permission on the segments.
 *
 * @throws Error ERR_SHMKIT_UNSUPPORTED when /proc/sysvipc/shm cannot be read.
 */
export function listSegments(): SegmentInfo[] {
  return parseSysvipcShm(readProc('/proc/sysvipc/shm')).sort((a, b) => a.id - b.id);
}

/**
 * The system's limits on System V shared memory (what `ipcs -l` shows).
 * @throws Error ERR_SHMKIT_UNSUPPORTED when /proc/sys/kernel cannot be read.
 */
export function limits(): ShmLimits {
  const read = (name: string) => readProc(`/proc/sys/kernel/${name}`).trim();
  let rmidForced = false;
  try {
    rmidForced = read('shm_rmid_forced') === '1';
  } catch {
    // Older kernels lack the knob: it is off there.
  }
  return {
    shmmax: BigInt(read('shmmax')),
    shmmin: 1,
    shmall: BigInt(read('shmall')),
    shmmni: Number(read('shmmni')),
    rmidForced,
  };
}
