// shmkit inspect: everything known about one object, a decoded view of a
// shmkit primitive inside it, and a hex dump. Read-only: it never locks,
// waits, posts or writes.
import { lstatSync } from 'node:fs';
import { SysvSemaphoreSet } from '@shmkit/sync';
import { byteNumber, oneOf, parse, typesOption, wantsHelp, type Parsed } from '../args';
import {
  decoderFor,
  nameContent,
  VIEW_NAMES,
  type DecodedView,
  type ViewName,
} from '../decode/index';
import { hexDump } from '../decode/hex';
import { CommandError, describeError, EXIT_OK, UsageError } from '../errors';
import { formatBytes, formatKey, formatOctal, formatTime, plural } from '../format';
import { JSON_SCHEMA, type IpcObject, type ObjectType, type Owner, type Users } from '../model';
import { openBytes } from '../sources/bytes';
import { takeInventory } from '../sources/inventory';
import { isAlive } from '../sources/processes';
import { renderFields } from '../table';
import { fifoAt, label, parseTarget, resolveTarget, type TargetObject } from '../targets';
import type { Command, Context } from './context';

/** One semaphore of a System V set, as `inspect` reports it. */
export interface SysvSemValue {
  value: number;
  /** The last process to operate on it (GETPID). */
  pid: number;
  /** Processes waiting for it to grow (GETNCNT) and to reach zero (GETZCNT). */
  waiting: number;
  waitingForZero: number;
}

/** A byte range of `--hex`: from `start` to `end` (exclusive). */
interface HexRange {
  start: number;
  end: number | undefined;
}

/** `--hex` takes an optional range, which util.parseArgs cannot express: a range looks like `0:64`, `0x100+32`, `16:`. */
const RANGE = /^(0x[0-9a-f]+|\d+)?([:+])(0x[0-9a-f]+|\d+)?$/i;

function parseRange(text: string): HexRange {
  const match = RANGE.exec(text);
  if (match === null || (match[1] === undefined && match[3] === undefined)) {
    throw new UsageError(
      `invalid range '${text}' for --hex: START:END, START+LENGTH, START: or :END`,
      'inspect',
    );
  }
  const start = match[1] === undefined ? 0 : byteNumber('inspect', '--hex', match[1]);
  const second = match[3] === undefined ? undefined : byteNumber('inspect', '--hex', match[3]);
  const end = second === undefined ? undefined : match[2] === '+' ? start + second : second;
  if (end !== undefined && end < start)
    throw new UsageError(`--hex range '${text}' ends before it starts`, 'inspect');
  return { start, end };
}

/**
 * Takes `--hex`, `--hex=RANGE` and `--hex RANGE` out of `args` (a bare
 * `--hex` dumps everything; a following word is its range only if it looks
 * like one, so `inspect --hex 5` still means object 5).
 */
function takeHex(args: string[]): { rest: string[]; hex: HexRange | undefined } {
  const rest: string[] = [];
  let hex: HexRange | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === '--hex') {
      const next = args[i + 1];
      if (next !== undefined && RANGE.test(next)) {
        hex = parseRange(next);
        i += 1;
      } else hex = { start: 0, end: undefined };
    } else if (arg.startsWith('--hex=')) hex = parseRange(arg.slice('--hex='.length));
    else rest.push(arg);
  }
  return { rest, hex };
}

function ownerText(owner: Owner): string {
  return `${owner.user ?? '?'} (uid ${owner.uid}), group ${owner.group ?? '?'} (gid ${owner.gid})`;
}

function usersField(users: Users): string {
  const lines = users.processes.map(
    (p) =>
      `pid ${p.pid}${p.command ? ` ${p.command}` : ''} (${p.how.map((h) => (h === 'map' ? 'mapped' : 'open')).join(', ')})`,
  );
  if (lines.length === 0) lines.push('no process seen');
  if (users.unchecked > 0) {
    lines.push(
      `? ${plural(users.unchecked, 'process', 'processes')} that could open it cannot be checked (maps not readable)`,
    );
  }
  return lines.join('\n');
}

/** An ISO time from the model, as inspect prints it. */
const when = (iso: string | null) => formatTime(iso === null ? null : new Date(iso));

const pidText = (pid: number) =>
  pid === 0 ? 'none' : `${pid} (${isAlive(pid) ? 'alive' : 'dead'})`;

/** The fields of an object, label and value, for people. */
function objectFields(object: TargetObject): Array<[string, string]> {
  const mode: [string, string] = ['mode', `${formatOctal(object.mode)} ${object.perms}`];
  switch (object.type) {
    case 'sysv-shm':
      return [
        ['key', formatKey(object.key)],
        ['id', String(object.id)],
        ['size', formatBytes(object.size)],
        ['owner', ownerText(object.owner)],
        [
          'creator',
          `uid ${object.creator.uid}, gid ${object.creator.gid}, pid ${pidText(object.cpid)}`,
        ],
        mode,
        [
          'status',
          [
            object.removed ? 'marked for removal (dest)' : '',
            object.locked ? 'locked (SHM_LOCK)' : '',
          ]
            .filter(Boolean)
            .join(', ') || 'normal',
        ],
        ['attached', `${object.nattch} (nattch, all processes)`],
        ['attached by', usersField(object.users)],
        ['last pid', pidText(object.lpid)],
        ['attached at', when(object.atime)],
        ['detached at', when(object.dtime)],
        ['changed at', when(object.ctime)],
        ...(object.rss === null
          ? []
          : ([
              ['resident', `${formatBytes(object.rss)}, swapped ${formatBytes(object.swap ?? 0)}`],
            ] as Array<[string, string]>)),
      ];
    case 'sysv-sem':
      return [
        ['key', formatKey(object.key)],
        ['id', String(object.id)],
        ['semaphores', String(object.nsems)],
        ['owner', ownerText(object.owner)],
        ['creator', `uid ${object.creator.uid}, gid ${object.creator.gid}`],
        mode,
        ['last op at', when(object.otime)],
        ['changed at', when(object.ctime)],
      ];
    case 'sysv-msg':
      return [
        ['key', formatKey(object.key)],
        ['id', String(object.id)],
        ['queued', `${plural(object.messages, 'message')}, ${formatBytes(object.bytes)}`],
        ['owner', ownerText(object.owner)],
        ['creator', `uid ${object.creator.uid}, gid ${object.creator.gid}`],
        mode,
        ['last send', `pid ${pidText(object.lspid)} at ${when(object.stime)}`],
        ['last receive', `pid ${pidText(object.lrpid)} at ${when(object.rtime)}`],
        ['changed at', when(object.ctime)],
      ];
    case 'posix-shm':
      return [
        ['path', object.path],
        ['size', `${formatBytes(object.size)}, ${formatBytes(object.allocated)} allocated`],
        ['owner', ownerText(object.owner)],
        mode,
        ['modified', formatTime(new Date(object.mtime))],
        ['changed', formatTime(new Date(object.ctime))],
        ['used by', usersField(object.users)],
        ...(object.content === null
          ? []
          : ([['content', nameContent(object.content)]] as Array<[string, string]>)),
      ];
    case 'posix-sem':
      return [
        ['path', object.path],
        [
          'value',
          object.value === null ? `? (${object.problem ?? 'unreadable'})` : String(object.value),
        ],
        ['waiters', object.waiters === null ? '?' : String(object.waiters)],
        ['owner', ownerText(object.owner)],
        mode,
        ['modified', formatTime(new Date(object.mtime))],
        ['used by', usersField(object.users)],
      ];
    case 'posix-mq':
      return [
        ['path', object.path],
        ['queued', object.bytes === null ? '? (no read permission)' : formatBytes(object.bytes)],
        ['notify pid', object.notifyPid === null ? '?' : pidText(object.notifyPid)],
        ['owner', ownerText(object.owner)],
        mode,
        ['modified', formatTime(new Date(object.mtime))],
        ['used by', usersField(object.users)],
      ];
    case 'fifo':
      return [
        ['path', object.path],
        ['owner', ownerText(object.owner)],
        mode,
        ['modified', formatTime(new Date(object.mtime))],
        ['open by', usersField(object.users)],
      ];
  }
}

/** GETALL and friends for a System V set; an error when this user may not read it. */
function semaphoreValues(id: number): SysvSemValue[] {
  const set = SysvSemaphoreSet.fromId(id);
  return set.getAll().map((value, i) => ({
    value,
    pid: set.lastPid(i),
    waiting: set.waitingCount(i),
    waitingForZero: set.zeroWaitingCount(i),
  }));
}

/** Finds the object a target means, with its users. */
function find(target: string, values: Parsed['values']): TargetObject {
  const parsed = parseTarget('inspect', target);
  const { types, extra } = typesOption('inspect', values.type, ['fifo']);
  if (parsed.kind === 'path') {
    let device: bigint | undefined;
    try {
      device = lstatSync(parsed.path, { bigint: true }).dev;
    } catch {
      // fifoAt reports it
    }
    const inventory = takeInventory({
      types: new Set<ObjectType>(),
      extraDevices: device === undefined ? [] : [device],
    });
    if (values.type !== undefined && !extra.has('fifo')) {
      throw new UsageError(`'${target}' is a path, which only --type fifo names`, 'inspect');
    }
    return fifoAt('inspect', parsed, inventory.scan);
  }
  const wanted = new Set(
    [...types].filter((t) =>
      parsed.kind === 'name' ? t.startsWith('posix-') : t.startsWith('sysv-'),
    ),
  );
  const inventory = takeInventory({ types: wanted });
  return resolveTarget('inspect', parsed, inventory.objects, wanted, values.type !== undefined);
}

const article = (word: string) => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;

function decodeAt(object: IpcObject, as: ViewName, at: number): DecodedView {
  const decoder = decoderFor(as);
  if (at % decoder.alignment !== 0) {
    throw new UsageError(
      `--at ${at} is not a multiple of ${decoder.alignment}, the alignment of ${article(as)}`,
      'inspect',
    );
  }
  const bytes = openBytes(object);
  try {
    if (at + decoder.byteLength > bytes.size) {
      throw new CommandError(
        `${article(as)} at offset ${at} needs ${decoder.byteLength} bytes, but ${label(object)} has ${bytes.size}`,
      );
    }
    const head = bytes.read(at, decoder.byteLength);
    if (head.length < decoder.byteLength) {
      throw new CommandError(`${label(object)} shrank while it was read: try again`);
    }
    const span = Math.max(decoder.byteLength, decoder.spanOf?.(head) ?? 0);
    // Fewer bytes than the span when the object ends (or shrank) first: the decoder says so.
    const data = span > head.length ? bytes.read(at, span) : head;
    return decoder.decode(data, at, Math.max(0, bytes.size - at));
  } finally {
    bytes.close();
  }
}

const HELP = `Usage: shmkit inspect <id | key | /name | fifo-path> [options]

Everything about one object: its full stat, who uses it, and for shared
memory a decoded view of a shmkit primitive in it and a hex dump. Nothing is
locked, waited on or written; a System V segment is attached read-only for
the moment its bytes are copied.

The object: a System V id (32769), a System V key (0x5eed0001), a POSIX
name (/jobs: a shared memory object, a named semaphore or a message queue),
or the path of a FIFO (/tmp/ready.fifo, ./ready.fifo).

Options:
  -t, --type TYPE      which kind the object is, when the name fits several
      --at OFFSET      where the primitive starts, in bytes (default 0)
      --as KIND        decode it as ${VIEW_NAMES.slice(0, 3).join(', ')},
                       ${VIEW_NAMES.slice(3).join(', ')} (layouts: @shmkit/sync's README)
      --hex [RANGE]    dump bytes: all of them, or START:END, START+LENGTH,
                       START: (numbers decimal or 0x hex)
      --json           print JSON (see the README)
  -h, --help           show this help

Examples:
  shmkit inspect /shmkit-counter-demo --as mutex
  shmkit inspect 0x5eed0001 --type sysv-sem
  shmkit inspect 32769 --hex 0:64
`;

export const inspect: Command = {
  name: 'inspect',
  summary: 'show one object in full, decode a primitive in it, dump its bytes',
  help: HELP,
  run(args, context: Context) {
    if (wantsHelp(args)) {
      context.out.write(HELP);
      return EXIT_OK;
    }
    const { rest, hex } = takeHex(args);
    const { values, positionals } = parse(
      'inspect',
      rest,
      {
        type: { type: 'string', short: 't', multiple: true },
        at: { type: 'string' },
        as: { type: 'string' },
        json: { type: 'boolean' },
      },
      { min: 1, max: 1, what: 'the object to inspect (an id, a key, a /name or a FIFO path)' },
    );
    const as =
      values.as === undefined
        ? undefined
        : oneOf('inspect', '--as', values.as as string, VIEW_NAMES);
    const at = values.at === undefined ? 0 : byteNumber('inspect', '--at', values.at as string);
    if (values.at !== undefined && as === undefined)
      throw new UsageError('--at needs --as: what to decode there', 'inspect');
    const object = find(positionals[0]!, values);
    if (
      (as !== undefined || hex !== undefined) &&
      !['sysv-shm', 'posix-shm', 'posix-sem'].includes(object.type)
    ) {
      throw new UsageError(
        `${label(object)} has no bytes: --as and --hex are for shared memory and named semaphores`,
        'inspect',
      );
    }
    const ipc = object as IpcObject;
    // A named semaphore's file is one sem_t, and a recognised channel is one
    // from its start: show them decoded without being asked.
    const viewAs =
      as ??
      (object.type === 'posix-sem'
        ? 'semaphore'
        : object.type === 'posix-shm' && object.content?.kind === 'channel'
          ? 'channel'
          : undefined);
    let view: DecodedView | null = null;
    if (viewAs !== undefined) {
      try {
        view = decodeAt(ipc, viewAs, at);
      } catch (error) {
        if (as !== undefined) throw error; // asked for: its failure is the command's
      }
    }
    let semaphores: SysvSemValue[] | null = null;
    let semaphoresError: string | null = null;
    if (object.type === 'sysv-sem') {
      try {
        semaphores = semaphoreValues(object.id);
      } catch (error) {
        semaphoresError = describeError(error);
      }
    }
    if (values.json === true) {
      let dump: { offset: number; length: number; data: string } | null = null;
      if (hex !== undefined) {
        const bytes = openBytes(ipc);
        try {
          const end = Math.min(hex.end ?? bytes.size, bytes.size);
          const data = bytes.read(hex.start, Math.max(0, end - hex.start));
          dump = { offset: hex.start, length: data.length, data: data.toString('hex') };
        } finally {
          bytes.close();
        }
      }
      const json = {
        shmkit: 'inspect',
        schema: JSON_SCHEMA,
        time: new Date().toISOString(),
        object,
        ...(object.type === 'sysv-sem' ? { semaphores, semaphoresError } : {}),
        view,
        hex: dump,
      };
      context.out.line(JSON.stringify(json, null, 2));
      return EXIT_OK;
    }
    const out = context.out;
    out.line(out.paint('bold', label(object)));
    for (const line of renderFields(objectFields(object))) out.line(line);
    if (object.type === 'sysv-sem') {
      out.line();
      if (semaphores === null) out.line(`  values: not readable (${semaphoresError})`);
      else {
        out.line(out.paint('bold', '  INDEX  VALUE  LAST PID  WAITING  FOR ZERO'));
        semaphores.forEach((s, i) =>
          out.line(
            `  ${String(i).padStart(5)}  ${String(s.value).padStart(5)}  ${String(s.pid).padStart(8)}  ${String(s.waiting).padStart(7)}  ${String(s.waitingForZero).padStart(8)}`,
          ),
        );
      }
    }
    if (view !== null) {
      out.line();
      out.line(
        out.paint(
          'bold',
          `${view.as} at offset ${view.offset} (${view.byteLength} bytes): ${view.state}`,
        ),
      );
      for (const line of renderFields(view.fields)) out.line(line);
      for (const problem of view.problems) out.line(`  ${out.paint('yellow', '!')} ${problem}`);
    }
    if (hex !== undefined) {
      out.line();
      const bytes = openBytes(ipc);
      try {
        const end = Math.min(hex.end ?? bytes.size, bytes.size);
        for (const line of hexDump((o, n) => bytes.read(o, n), hex.start, end)) {
          if (!out.line(line)) break; // the reader went away
        }
      } finally {
        bytes.close();
      }
    }
    return EXIT_OK;
  },
};
