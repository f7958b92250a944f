// Everything shared on this host that the caller can see, as the objects
// of the JSON schema (model.ts): /proc/sysvipc for System V, /dev/shm for
// POSIX shared memory and named semaphores, /dev/mqueue for POSIX queues,
// and /proc/PID for who uses what.
import { lstatSync, readdirSync, statSync, type BigIntStats } from 'node:fs';
import { groupName, userName } from '@shmkit/core';
import { Semaphore } from '@shmkit/sync';
import { recognizers } from '../decode/index';
import { readSemT } from '../decode/semaphore';
import { describeError } from '../errors';
import { formatKey, formatPerms } from '../format';
import type {
  ChannelContent,
  IpcObject,
  ObjectType,
  Owner,
  PosixMqObject,
  PosixSemObject,
  PosixShmObject,
  SysvMsgObject,
  SysvSemObject,
  SysvShmObject,
  Users,
} from '../model';
import { openRegularFile, readRegularFile, type RegularFile } from './files';
import {
  commandName,
  couldOpen,
  fileKey,
  isAlive,
  scanProcesses,
  type Permissions,
  type ProcessScan,
  type UseMap,
} from './processes';
import { messageQueues, segments, semaphoreSets } from './sysvipc';

/** Where POSIX shared memory objects and named semaphores live. */
export const SHM_DIR = '/dev/shm';
/** Where POSIX message queues appear, when mqueue is mounted there. */
export const MQUEUE_DIR = '/dev/mqueue';

/** What {@link takeInventory} looks at. */
export interface InventoryOptions {
  /** The kinds of object to list. */
  readonly types: ReadonlySet<ObjectType>;
  /** Find the processes using each object (a pass over /proc). Default true. */
  readonly users?: boolean;
  /** Devices of further files whose users should be found (a FIFO for `inspect`). */
  readonly extraDevices?: readonly bigint[];
}

/** The listing, with what could not be read. */
export interface Inventory {
  readonly objects: IpcObject[];
  readonly warnings: string[];
  /** The /proc pass, when users were looked for. */
  readonly scan: ProcessScan | undefined;
}

function nameOf<T>(lookup: (id: number) => T | undefined, id: number): T | null {
  try {
    return lookup(id) ?? null;
  } catch {
    return null; // a directory service that is down must not fail a listing
  }
}

/** Owner ids with their names. */
export function owner(uid: number, gid: number): Owner {
  return { uid, user: nameOf(userName, uid), gid, group: nameOf(groupName, gid) };
}

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

function toUsers(uses: UseMap | undefined): Users['processes'] {
  return [...(uses ?? [])]
    .map(([pid, how]) => ({
      pid,
      command: commandName(pid),
      how: (['map', 'fd'] as const).filter((h) => how.has(h)),
    }))
    .sort((a, b) => a.pid - b.pid);
}

/** Who uses an object, given what the /proc pass found for it. */
export function usersOf(
  scan: ProcessScan | undefined,
  uses: UseMap | undefined,
  perms: Permissions,
): Users {
  if (scan === undefined) return { processes: [], unchecked: 0 };
  return {
    processes: toUsers(uses),
    unchecked: scan.unchecked.filter((process) => couldOpen(process, perms)).length,
  };
}

function fileUsers(scan: ProcessScan | undefined, st: BigIntStats): Users {
  const perms = { uids: [Number(st.uid)], gids: [Number(st.gid)], mode: Number(st.mode) & 0o7777 };
  return usersOf(scan, scan?.files.get(fileKey(st.dev, st.ino)), perms);
}

function deviceOf(path: string): bigint | undefined {
  try {
    return statSync(path, { bigint: true }).dev;
  } catch {
    return undefined;
  }
}

function sysvShm(scan: ProcessScan | undefined, warnings: string[]): SysvShmObject[] {
  const { segments: rows, error } = segments();
  if (error !== undefined) warnings.push(error);
  return rows.map((s) => {
    const perms = { uids: [s.uid, s.cuid], gids: [s.gid, s.cgid], mode: s.mode };
    const users = usersOf(scan, scan?.segments.get(s.id), perms);
    // The kernel's nattch is the truth about attachments: with none, no
    // process can be using the segment, checked or not.
    if (s.nattch === 0) users.unchecked = 0;
    return {
      type: 'sysv-shm',
      name: s.key === 0 ? String(s.id) : formatKey(s.key),
      owner: owner(s.uid, s.gid),
      mode: s.mode,
      perms: formatPerms(s.mode),
      key: s.key,
      id: s.id,
      creator: { uid: s.cuid, gid: s.cgid },
      size: s.size,
      nattch: s.nattch,
      cpid: s.cpid,
      cpidAlive: isAlive(s.cpid),
      lpid: s.lpid,
      atime: iso(s.atime),
      dtime: iso(s.dtime),
      ctime: iso(s.ctime),
      removed: s.removed,
      locked: s.locked,
      rss: s.rss ?? null,
      swap: s.swap ?? null,
      users,
    };
  });
}

function sysvSem(warnings: string[]): SysvSemObject[] {
  const { sets, error } = semaphoreSets();
  if (error !== undefined) warnings.push(error);
  return sets.map((s) => ({
    type: 'sysv-sem',
    name: s.key === 0 ? String(s.id) : formatKey(s.key),
    owner: owner(s.uid, s.gid),
    mode: s.perms & 0o777,
    perms: formatPerms(s.perms),
    key: s.key,
    id: s.id,
    creator: { uid: s.cuid, gid: s.cgid },
    nsems: s.nsems,
    otime: iso(s.otime),
    ctime: iso(s.ctime),
  }));
}

function sysvMsg(warnings: string[]): SysvMsgObject[] {
  const { queues, error } = messageQueues();
  if (error !== undefined) warnings.push(error);
  return queues.map((q) => ({
    type: 'sysv-msg',
    name: q.key === 0 ? String(q.id) : formatKey(q.key),
    owner: owner(q.uid, q.gid),
    mode: q.perms & 0o777,
    perms: formatPerms(q.perms),
    key: q.key,
    id: q.id,
    creator: { uid: q.cuid, gid: q.cgid },
    bytes: q.cbytes,
    messages: q.qnum,
    lspid: q.lspid,
    lrpid: q.lrpid,
    stime: iso(q.stime),
    rtime: iso(q.rtime),
    ctime: iso(q.ctime),
  }));
}

/** The regular files of a directory with their lstat, skipping what vanished meanwhile. */
function regularFiles(dir: string, warnings: string[]): Array<[string, BigIntStats]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') warnings.push(`cannot read ${dir} (${code})`);
    return [];
  }
  const files: Array<[string, BigIntStats]> = [];
  for (const name of names.sort()) {
    try {
      // lstat: a symlink in /dev/shm is no shared memory object, whatever it points at.
      const st = lstatSync(`${dir}/${name}`, { bigint: true, throwIfNoEntry: false });
      if (st?.isFile()) files.push([name, st]);
    } catch {
      // unlinked while we looked
    }
  }
  return files;
}

function common(st: BigIntStats, path: string) {
  const mode = Number(st.mode) & 0o7777;
  return {
    owner: owner(Number(st.uid), Number(st.gid)),
    mode,
    perms: formatPerms(mode),
    path,
    mtime: st.mtime.toISOString(),
  };
}

/**
 * What a recogniser finds at the start of an object; null if none, or if
 * this user may not read it. The file is read, never mapped: its owner may
 * truncate it meanwhile, which shows as a short read (a truncated header),
 * not as SIGBUS.
 */
function recognize(path: string, size: number): ChannelContent | null {
  const fitting = recognizers.filter((r) => r.magicBytes <= size);
  if (fitting.length === 0) return null;
  let file: RegularFile;
  try {
    file = openRegularFile(path);
  } catch {
    return null; // unreadable for this user, or gone: nothing recognised
  }
  try {
    const head = file.read(0, Math.max(...fitting.map((r) => r.magicBytes)));
    const recognizer = fitting.find((r) => r.matches(head));
    const opened = Number(file.stat.size);
    return recognizer?.recognize((offset, length) => file.read(offset, length), opened) ?? null;
  } catch {
    return null; // a read error (EIO): as unreadable
  } finally {
    file.close();
  }
}

function posix(
  types: ReadonlySet<ObjectType>,
  scan: ProcessScan | undefined,
  warnings: string[],
): Array<PosixShmObject | PosixSemObject> {
  const objects: Array<PosixShmObject | PosixSemObject> = [];
  for (const [file, st] of regularFiles(SHM_DIR, warnings)) {
    const path = `${SHM_DIR}/${file}`;
    const size = Number(st.size);
    if (file.startsWith('sem.') && file.length > 4) {
      if (!types.has('posix-sem')) continue;
      objects.push({
        type: 'posix-sem',
        name: `/${file.slice(4)}`,
        ...common(st, path),
        size,
        ctime: st.ctime.toISOString(),
        ...semValue(path),
        users: fileUsers(scan, st),
      });
    } else if (types.has('posix-shm')) {
      objects.push({
        type: 'posix-shm',
        name: `/${file}`,
        ...common(st, path),
        size,
        allocated: Number(st.blocks) * 512,
        ctime: st.ctime.toISOString(),
        users: fileUsers(scan, st),
        content: recognize(path, size),
      });
    }
  }
  return objects;
}

/** A named semaphore's value, read as plain bytes of its file. */
function semValue(path: string): Pick<PosixSemObject, 'value' | 'waiters' | 'problem'> {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path, 0, Semaphore.byteLength).bytes;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      value: null,
      waiters: null,
      problem: code === 'EACCES' ? 'permission denied' : describeError(error),
    };
  }
  const sem = readSemT(bytes);
  return {
    value: sem.value,
    waiters: sem.value === null ? null : sem.waiters,
    problem: sem.problems[0] ?? null,
  };
}

function posixMq(scan: ProcessScan | undefined, warnings: string[]): PosixMqObject[] {
  return regularFiles(MQUEUE_DIR, warnings).map(([file, st]) => {
    const path = `${MQUEUE_DIR}/${file}`;
    let bytes: number | null = null;
    let notifyPid: number | null = null;
    try {
      const file = openRegularFile(path);
      try {
        const text = file.read(0, 256).toString('latin1');
        bytes = Number(/QSIZE:(\d+)/.exec(text)?.[1] ?? NaN);
        notifyPid = Number(/NOTIFY_PID:(\d+)/.exec(text)?.[1] ?? NaN);
      } finally {
        file.close();
      }
    } catch {
      // no read permission on the queue
    }
    return {
      type: 'posix-mq',
      name: `/${file}`,
      ...common(st, path),
      bytes: Number.isNaN(bytes) ? null : bytes,
      notifyPid: Number.isNaN(notifyPid) ? null : notifyPid,
      users: fileUsers(scan, st),
    };
  });
}

/**
 * Lists the objects of `options.types`, in a fixed order (by type, then by
 * id or name), with the users of each when asked.
 */
export function takeInventory(options: InventoryOptions): Inventory {
  const { types } = options;
  const warnings: string[] = [];
  let scan: ProcessScan | undefined;
  if (options.users !== false) {
    const devices = new Set<bigint>(options.extraDevices ?? []);
    for (const dir of [SHM_DIR, MQUEUE_DIR]) {
      const dev = deviceOf(dir);
      if (dev !== undefined) devices.add(dev);
    }
    scan = scanProcesses({ devices });
    if (scan.unchecked.length > 0) {
      const some = scan.unchecked
        .slice(0, 3)
        .map((p) => `${p.pid} ${commandName(p.pid) ?? '?'}`)
        .join(', ');
      const more = scan.unchecked.length > 3 ? ', ...' : '';
      warnings.push(
        `cannot read the maps of ${scan.unchecked.length === 1 ? '1 process' : `${scan.unchecked.length} processes`} (pid ${some}${more}): users of objects they could open are shown with '?'`,
      );
    }
  }
  const objects: IpcObject[] = [];
  if (types.has('sysv-shm')) objects.push(...sysvShm(scan, warnings));
  if (types.has('sysv-sem')) objects.push(...sysvSem(warnings));
  if (types.has('sysv-msg')) objects.push(...sysvMsg(warnings));
  if (types.has('posix-shm') || types.has('posix-sem'))
    objects.push(...posix(types, scan, warnings));
  if (types.has('posix-mq')) objects.push(...posixMq(scan, warnings));
  return { objects, warnings, scan };
}
