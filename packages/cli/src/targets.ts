// What `inspect` and `rm` are pointed at: `<id | key | /name>`, or the
// path of a FIFO. Parsing is strict; resolving finds the one object meant,
// or says which ones the words could mean.
import { lstatSync, type BigIntStats } from 'node:fs';
import { resolve } from 'node:path';
import { CommandError, UsageError } from './errors';
import { formatPerms } from './format';
import { OBJECT_TYPES, type IpcObject, type ObjectType, type Owner, type Users } from './model';
import { owner, usersOf } from './sources/inventory';
import { fileKey, type ProcessScan } from './sources/processes';

/** A parsed target. */
export type Target =
  | { readonly kind: 'id'; readonly id: number; readonly text: string }
  | { readonly kind: 'key'; readonly key: number; readonly text: string }
  | { readonly kind: 'name'; readonly name: string; readonly text: string }
  | { readonly kind: 'path'; readonly path: string; readonly text: string };

/** A FIFO named by its path: what `inspect` and `rm` accept besides IPC objects. */
export interface FifoObject {
  type: 'fifo';
  name: string;
  path: string;
  owner: Owner;
  mode: number;
  perms: string;
  mtime: string;
  users: Users;
}

/** Anything `inspect` and `rm` work on. */
export type TargetObject = IpcObject | FifoObject;

const NAME_MAX = 255;

/**
 * Parses a target: a decimal System V id, a System V key in hex (`0x...`),
 * a POSIX name (`/name`: one leading slash, no other), or a FIFO's path
 * (any other text with a slash: `/tmp/ready.fifo`, `./ready.fifo`).
 * @throws UsageError for anything else.
 */
export function parseTarget(command: string, text: string): Target {
  if (/^\d+$/.test(text)) {
    const id = Number(text);
    if (id > 0x7fff_ffff)
      throw new UsageError(`'${text}' is not a System V id (0 to 2147483647)`, command);
    return { kind: 'id', id, text };
  }
  if (/^0x[0-9a-f]+$/i.test(text)) {
    const key = parseInt(text, 16);
    if (text.length > 10)
      throw new UsageError(`'${text}' is not a System V key (at most 0xffffffff)`, command);
    if (key === 0) {
      throw new UsageError(
        `'${text}' is IPC_PRIVATE, which no object is found by: give the id`,
        command,
      );
    }
    return { kind: 'key', key, text };
  }
  if (/^\/[^/]+$/.test(text)) {
    if (Buffer.byteLength(text) - 1 > NAME_MAX) {
      throw new UsageError(`'${text.slice(0, 20)}...' is longer than a POSIX name may be`, command);
    }
    return { kind: 'name', name: text, text };
  }
  if (text.includes('/')) return { kind: 'path', path: resolve(text), text };
  throw new UsageError(
    `'${text}' is neither an id (123), a key (0x1234abcd), a /name nor a FIFO's path (./name)`,
    command,
  );
}

function matches(target: Target, object: IpcObject): boolean {
  switch (target.kind) {
    case 'id':
      return 'id' in object && object.id === target.id;
    case 'key':
      return 'key' in object && object.key === target.key;
    case 'name':
      return object.type.startsWith('posix-') && object.name === target.name;
    case 'path':
      return false;
  }
}

/** Describes an object the way messages name it: `sysv-shm 0x5a00ab01 (id 32769)`. */
export function label(object: TargetObject): string {
  if ('id' in object && object.name !== String(object.id))
    return `${object.type} ${object.name} (id ${object.id})`;
  if ('id' in object) return `${object.type} id ${object.id}`;
  return `${object.type} ${object.name}`;
}

/** The FIFO at `path`, with who holds it open. */
export function fifoAt(
  command: string,
  target: Target & { kind: 'path' },
  scan: ProcessScan | undefined,
): FifoObject {
  // ENOENT and EACCES come out with the path, as Node words them.
  const st: BigIntStats = lstatSync(target.path, { bigint: true });
  if (!st.isFIFO()) {
    throw new CommandError(
      `${target.text} is not a FIFO: shmkit only inspects and removes FIFOs by path`,
    );
  }
  const mode = Number(st.mode) & 0o7777;
  return {
    type: 'fifo',
    name: target.path,
    path: target.path,
    owner: owner(Number(st.uid), Number(st.gid)),
    mode,
    perms: formatPerms(mode),
    mtime: st.mtime.toISOString(),
    users: usersOf(scan, scan?.files.get(fileKey(st.dev, st.ino)), {
      uids: [Number(st.uid)],
      gids: [Number(st.gid)],
      mode,
    }),
  };
}

/**
 * The one object among `objects` that `target` means.
 * @throws UsageError when it could mean several (add --type);
 *   CommandError when it means none.
 */
export function resolveTarget(
  command: string,
  target: Target,
  objects: readonly IpcObject[],
  types: ReadonlySet<ObjectType>,
  /** True when --type narrowed `types`: the message then says so. */
  narrowed: boolean,
): IpcObject {
  const found = objects
    .filter((object) => types.has(object.type) && matches(target, object))
    .sort((a, b) => OBJECT_TYPES.indexOf(a.type) - OBJECT_TYPES.indexOf(b.type));
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    throw new UsageError(
      `'${target.text}' could be ${found.map(label).join(' or ')}: add --type ${found.map((o) => o.type).join('|')}`,
      command,
    );
  }
  const where = {
    id: 'no System V segment, semaphore set or message queue has id',
    key: 'no System V segment, semaphore set or message queue has key',
    name: 'no POSIX shared memory object, named semaphore or message queue is named',
    path: '',
  }[target.kind];
  const only = narrowed ? ` (of type ${[...types].join(', ')})` : '';
  throw new CommandError(`${where} ${target.text}${only}`);
}
