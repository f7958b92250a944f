// What `shmkit ls --json` and `shmkit inspect --json` print: the documented
// schema (README "JSON output"). Fields are only ever added within a schema
// version; renaming or removing one bumps JSON_SCHEMA.

/** The version of the JSON shape; a consumer should check it. */
export const JSON_SCHEMA = 1;

/** Every kind of object `shmkit` lists, as `--type` and the `type` field name them. */
export const OBJECT_TYPES = [
  'sysv-shm',
  'sysv-sem',
  'sysv-msg',
  'posix-shm',
  'posix-sem',
  'posix-mq',
] as const;

/**
 * `sysv-shm`: System V segments; `sysv-sem`: System V semaphore sets;
 * `sysv-msg`: System V message queues; `posix-shm`: POSIX shared memory
 * objects (/dev/shm); `posix-sem`: named semaphores (/dev/shm/sem.*);
 * `posix-mq`: POSIX message queues (/dev/mqueue, when mounted).
 */
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** An owner: ids, and names when the system has them. */
export interface Owner {
  uid: number;
  /** The login name (getpwuid_r), null when the uid has none. */
  user: string | null;
  gid: number;
  /** The group name (getgrgid_r), null when the gid has none. */
  group: string | null;
}

/** One live process that uses an object. */
export interface ProcessUse {
  pid: number;
  /** Its command name (/proc/PID/comm), null if it could not be read. */
  command: string | null;
  /** `map`: the object is mapped (or a System V segment attached); `fd`: held open. */
  how: Array<'map' | 'fd'>;
}

/**
 * Who uses an object, from /proc/PID/maps and /proc/PID/fd of every
 * process this user may inspect.
 */
export interface Users {
  /** Live processes seen mapping or holding the object, by pid. */
  processes: ProcessUse[];
  /**
   * Processes whose maps and descriptors this user may not read although
   * the object's permission bits would let them open it (root sees all):
   * any of them may use it too. 0 means `processes` is complete.
   */
  unchecked: number;
}

/** What every listed object has. */
export interface ObjectBase {
  type: ObjectType;
  /**
   * What `shmkit inspect`/`rm` take to find it: `/name` for POSIX objects,
   * the key (`0x0000abcd`) for System V ones, or the id for IPC_PRIVATE ones.
   */
  name: string;
  owner: Owner;
  /** Permission bits, e.g. 384 (0o600). */
  mode: number;
  /** The same as `ls -l` prints them: `rw-------`. */
  perms: string;
}

/** The System V creator: it may differ from the owner after IPC_SET. */
export interface Creator {
  uid: number;
  gid: number;
}

/** A System V shared memory segment (/proc/sysvipc/shm, `ipcs -m`). */
export interface SysvShmObject extends ObjectBase {
  type: 'sysv-shm';
  key: number;
  id: number;
  creator: Creator;
  size: number;
  /** Attachments, as the kernel counts them (every process, every namespace). */
  nattch: number;
  /** The creator's pid, and whether a process with that pid is alive now. */
  cpid: number;
  cpidAlive: boolean;
  /** The last process to attach or detach (0: none yet). */
  lpid: number;
  atime: string | null;
  dtime: string | null;
  ctime: string | null;
  /** Marked for removal (IPC_RMID), alive until the last detach: `ipcs` "dest". */
  removed: boolean;
  /** SHM_LOCK: kept in memory. */
  locked: boolean;
  /** Resident and swapped bytes, when the kernel reports them. */
  rss: number | null;
  swap: number | null;
  users: Users;
}

/** A System V semaphore set (/proc/sysvipc/sem, `ipcs -s`). */
export interface SysvSemObject extends ObjectBase {
  type: 'sysv-sem';
  key: number;
  id: number;
  creator: Creator;
  /** Semaphores in the set. */
  nsems: number;
  /** Last semop, null if none. */
  otime: string | null;
  ctime: string | null;
}

/** A System V message queue (/proc/sysvipc/msg, `ipcs -q`). */
export interface SysvMsgObject extends ObjectBase {
  type: 'sysv-msg';
  key: number;
  id: number;
  creator: Creator;
  /** Bytes queued. */
  bytes: number;
  /** Messages queued. */
  messages: number;
  /** The last sender and receiver (0: none yet). */
  lspid: number;
  lrpid: number;
  stime: string | null;
  rtime: string | null;
  ctime: string | null;
}

/** What shmkit recognised inside an object from its first bytes. */
export interface Content {
  /** What it is: `channel`, when @shmkit/channel's header is found. */
  kind: string;
  /** The recogniser's summary: fill level, ends... (see the README per kind). */
  [field: string]: unknown;
}

/**
 * How much of a channel's header could be trusted:
 * - `ok`: decoded, and its cursors agree with each other;
 * - `damaged`: decoded, but a cursor or the object's size is impossible
 *   (`problems` says which), so the numbers may be wrong;
 * - `corrupt`: the channel magic is there but the rest is not a channel
 *   header (or the object is too short to hold one): nothing else is known;
 * - `unsupported`: another version of the channel format.
 */
export type ChannelStatus = 'ok' | 'damaged' | 'corrupt' | 'unsupported';

/** The ends of one side of a channel. */
export interface ChannelEnds {
  /** Slots the header has for this side. */
  slots: number;
  /** Slots held by a thread now. */
  attached: number;
  /** Of those, the ones whose thread is alive (in this PID namespace). */
  alive: number;
  /** Ends of this side asleep waiting (senders for room, receivers for messages). */
  waiting: number;
}

/**
 * A @shmkit/channel found in a POSIX object (`content.kind` `channel`),
 * recognised by the magic `shmkchan` at its start. Every field but `kind`,
 * `status` and `problems` is null unless `status` is `ok` or `damaged`.
 */
export interface ChannelContent extends Content {
  kind: 'channel';
  status: ChannelStatus;
  /** What is wrong, one sentence each; empty when `ok`. */
  problems: string[];
  /** `spsc`, `mpsc` or `broadcast`. */
  channelKind: 'spsc' | 'mpsc' | 'broadcast' | null;
  /** The codec its ends use by default: `bytes`, `string`, `json`, `v8`. */
  codec: string | null;
  /** Bytes of data per ring. */
  capacity: number | null;
  /** Rings: one per sender slot (mpsc), else 1. */
  rings: number | null;
  /** Bytes in all rings between each ring's head and tail. */
  usedBytes: number | null;
  /**
   * How full, 0 to 1. spsc and mpsc: `usedBytes` over the rings' capacity
   * (messages sent and not yet received). broadcast: the slowest attached
   * receiver's lag over the ring's capacity (at 1 it starts losing
   * messages); 0 with no receiver.
   */
  fill: number | null;
  senders: ChannelEnds | null;
  receivers: ChannelEnds | null;
  /** No sender attached, one has been, and nothing is left to receive. */
  ended: boolean | null;
  /** How the last sender left: `none` (none has), `closed`, `died`. */
  lastExit: 'none' | 'closed' | 'died' | null;
  /** Senders found dead so far. */
  deaths: number | null;
}

/** A POSIX shared memory object: a file in /dev/shm. */
export interface PosixShmObject extends ObjectBase {
  type: 'posix-shm';
  path: string;
  size: number;
  /** Bytes of memory it holds (st_blocks * 512): less than `size` when sparse. */
  allocated: number;
  mtime: string;
  ctime: string;
  users: Users;
  /**
   * A shmkit structure recognised at its start (only a channel, so far), or
   * null: none, or the object could not be read.
   */
  content: ChannelContent | null;
}

/** A named POSIX semaphore (sem_open): /dev/shm/sem.NAME holding a sem_t. */
export interface PosixSemObject extends ObjectBase {
  type: 'posix-sem';
  path: string;
  size: number;
  mtime: string;
  ctime: string;
  /** The count, read from the file's bytes; null when it could not be (see `problem`). */
  value: number | null;
  /** Threads glibc counts as waiting; null with `value`. */
  waiters: number | null;
  /** Why `value` is null or doubtful: `permission denied`, `too small for a sem_t`... */
  problem: string | null;
  users: Users;
}

/** A POSIX message queue: a file in /dev/mqueue. */
export interface PosixMqObject extends ObjectBase {
  type: 'posix-mq';
  path: string;
  /** Bytes queued (QSIZE), null when unreadable. */
  bytes: number | null;
  /** The process registered for notification (NOTIFY_PID), 0 if none; null when unreadable. */
  notifyPid: number | null;
  mtime: string;
  users: Users;
}

/** One listed object: the `type` field says which. */
export type IpcObject =
  | SysvShmObject
  | SysvSemObject
  | SysvMsgObject
  | PosixShmObject
  | PosixSemObject
  | PosixMqObject;

/** `shmkit ls --json`. */
export interface LsJson {
  /** Always `ls`. */
  shmkit: 'ls';
  /** {@link JSON_SCHEMA}. */
  schema: number;
  /** When the listing was taken (ISO 8601). */
  time: string;
  objects: IpcObject[];
  /** What could not be read, one sentence each (also on stderr in table mode). */
  warnings: string[];
}
