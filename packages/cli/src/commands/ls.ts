// shmkit ls: everything shared on this host in one table (or JSON).
import {
  listOption,
  oneOf,
  parse,
  typesOption,
  TYPE_WORDS,
  wantsHelp,
  type OptionSpec,
  type Parsed,
} from '../args';
import { describeContent, recognizers } from '../decode/index';
import { EXIT_OK } from '../errors';
import { formatOctal, formatSize } from '../format';
import type { Style } from '../io';
import { JSON_SCHEMA, type IpcObject, type LsJson, type ObjectType, type Users } from '../model';
import { takeInventory } from '../sources/inventory';
import { renderTable, type Column } from '../table';
import { warn, type Command, type Context } from './context';

export const SORT_KEYS = ['type', 'name', 'id', 'owner', 'size', 'use', 'time'] as const;
type SortKey = (typeof SORT_KEYS)[number];

/** The options `ls` and `watch` share: what to list and in which order. */
export const SELECT_OPTIONS: OptionSpec = {
  type: { type: 'string', short: 't', multiple: true },
  owner: { type: 'string', short: 'u', multiple: true },
  name: { type: 'string', short: 'n', multiple: true },
  sort: { type: 'string', short: 's' },
  reverse: { type: 'boolean', short: 'r' },
  wide: { type: 'boolean', short: 'w' },
  bytes: { type: 'boolean', short: 'b' },
};

export const SELECT_HELP = `  -t, --type TYPE    only these types (repeat, or separate with commas):
                     ${TYPE_WORDS.slice(0, 3).join(', ')},
                     ${TYPE_WORDS.slice(3, 6).join(', ')};
                     or the groups ${TYPE_WORDS.slice(6).join(', ')}
  -u, --owner USER   only objects owned by USER (a name or a uid; repeatable)
  -n, --name GLOB    only objects whose name matches GLOB (* and ?; for
                     System V objects the key, like 0x5eed*; repeatable)
  -s, --sort KEY     ${SORT_KEYS.join(', ')}
                     (default: type, then id or name)
  -r, --reverse      reverse the order
  -w, --wide         never shorten a column, however wide the table gets
  -b, --bytes        sizes in bytes, not 4.0K/64M`;

/** The filters and order parsed from the shared options. */
export interface Selection {
  readonly types: ReadonlySet<ObjectType>;
  readonly owners: readonly string[];
  readonly names: readonly RegExp[];
  readonly sort: SortKey;
  readonly reverse: boolean;
  readonly wide: boolean;
  readonly bytes: boolean;
}

/** `*` and `?` wildcards, the rest literal, matching the whole name. */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}|]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

export function selection(command: string, values: Parsed['values']): Selection {
  return {
    types: typesOption(command, values.type).types,
    owners: listOption(values.owner),
    names: listOption(values.name).map(globToRegExp),
    sort:
      values.sort === undefined
        ? 'type'
        : oneOf(command, '--sort', values.sort as string, SORT_KEYS),
    reverse: values.reverse === true,
    wide: values.wide === true,
    bytes: values.bytes === true,
  };
}

const TYPE_ORDER = new Map<string, number>(
  ['sysv-shm', 'sysv-sem', 'sysv-msg', 'posix-shm', 'posix-sem', 'posix-mq'].map((t, i) => [t, i]),
);

function sizeOf(object: IpcObject): number {
  switch (object.type) {
    case 'sysv-shm':
    case 'posix-shm':
    case 'posix-sem':
      return object.size;
    case 'sysv-msg':
      return object.bytes;
    case 'posix-mq':
      return object.bytes ?? 0;
    case 'sysv-sem':
      return object.nsems;
  }
}

function useOf(object: IpcObject): number {
  if (object.type === 'sysv-shm') return object.nattch;
  return 'users' in object ? object.users.processes.length : 0;
}

function timeOf(object: IpcObject): string {
  if ('mtime' in object) return object.mtime;
  return object.ctime ?? '';
}

function ownerText(object: IpcObject): string {
  return object.owner.user ?? String(object.owner.uid);
}

/** The objects `selection` keeps, in its order. */
export function select(objects: readonly IpcObject[], s: Selection): IpcObject[] {
  const kept = objects.filter(
    (object) =>
      s.types.has(object.type) &&
      (s.owners.length === 0 ||
        s.owners.some((o) => o === ownerText(object) || o === String(object.owner.uid))) &&
      (s.names.length === 0 || s.names.some((re) => re.test(object.name))),
  );
  const byType = (a: IpcObject, b: IpcObject) =>
    (TYPE_ORDER.get(a.type) ?? 0) - (TYPE_ORDER.get(b.type) ?? 0) ||
    ('id' in a && 'id' in b ? a.id - b.id : a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const compare: Record<SortKey, (a: IpcObject, b: IpcObject) => number> = {
    type: byType,
    name: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : byType(a, b)),
    id: (a, b) => ('id' in a ? a.id : Infinity) - ('id' in b ? b.id : Infinity) || byType(a, b),
    owner: (a, b) => ownerText(a).localeCompare(ownerText(b)) || byType(a, b),
    size: (a, b) => sizeOf(a) - sizeOf(b) || byType(a, b),
    use: (a, b) => useOf(a) - useOf(b) || byType(a, b),
    time: (a, b) => (timeOf(a) < timeOf(b) ? -1 : timeOf(a) > timeOf(b) ? 1 : byType(a, b)),
  };
  kept.sort(compare[s.sort]);
  return s.reverse ? kept.reverse() : kept;
}

/** USE: attachments or processes, with `?` for what could not be checked. */
function useText(object: IpcObject): string {
  if (object.type === 'sysv-shm') return String(object.nattch);
  if (!('users' in object)) return '-';
  return usersText(object.users);
}

export function usersText(users: Users): string {
  const seen = users.processes.length;
  if (users.unchecked === 0) return String(seen);
  return seen === 0 ? '?' : `${seen}+?`;
}

function pids(users: Users): string {
  return users.processes.map((p) => `${p.pid}${p.command ? ` ${p.command}` : ''}`).join(', ');
}

/** INFO: the one or two facts that matter most for each type. */
function info(object: IpcObject): string {
  switch (object.type) {
    case 'sysv-shm': {
      const parts: string[] = [];
      if (object.removed) parts.push('dest');
      if (object.locked) parts.push('locked');
      parts.push(object.cpidAlive ? `creator ${object.cpid}` : `creator ${object.cpid} dead`);
      return parts.join(', ');
    }
    case 'sysv-sem':
      return `${object.nsems} ${object.nsems === 1 ? 'semaphore' : 'semaphores'}`;
    case 'sysv-msg':
      return `${object.messages} ${object.messages === 1 ? 'message' : 'messages'}`;
    case 'posix-shm': {
      return object.content === null ? pids(object.users) : describeContent(object.content);
    }
    case 'posix-sem':
      if (object.value === null)
        return `value ? (${object.problem === 'permission denied' ? 'no access' : 'not a sem_t'})`;
      return `value ${object.value}${object.waiters ? `, ${object.waiters} waiting` : ''}${object.problem ? ' (not a sem_t?)' : ''}`;
    case 'posix-mq':
      return object.notifyPid ? `notify pid ${object.notifyPid}` : pids(object.users);
  }
}

function infoStyle(object: IpcObject): Style | undefined {
  if (object.type === 'sysv-shm')
    return object.removed ? 'yellow' : object.cpidAlive ? undefined : 'red';
  if (object.type === 'posix-sem') return object.problem ? 'yellow' : undefined;
  if (object.type === 'posix-shm' && object.content !== null) {
    const content = object.content;
    return recognizers.find((r) => r.kind === content.kind)?.style(content);
  }
  return undefined;
}

/** INFO keeps this many columns while other columns can still shrink. */
const INFO_KEPT = 26;

/** The ls table as lines. */
export function lsTable(
  objects: readonly IpcObject[],
  s: Selection,
  width: number,
  color: boolean,
): string[] {
  const size = (object: IpcObject): string => {
    if (object.type === 'sysv-sem') return '-';
    if (object.type === 'posix-mq' && object.bytes === null) return '?';
    return s.bytes ? String(sizeOf(object)) : formatSize(sizeOf(object));
  };
  // INFO gives way first (a list of pids is a detail), except that a
  // channel's summary (kind, fill, ends) keeps up to INFO_KEPT columns:
  // names are shortened before it is.
  const summaries = objects.filter((o) => o.type === 'posix-shm' && o.content !== null);
  const infoKept = Math.max(8, ...summaries.map((o) => Math.min(INFO_KEPT, info(o).length)));
  const columns: Array<Column<IpcObject>> = [
    { header: 'TYPE', cell: (o) => o.type },
    { header: 'NAME', cell: (o) => o.name, shrinkTo: 12 },
    { header: 'ID', align: 'right', cell: (o) => ('id' in o ? String(o.id) : '-') },
    { header: 'OWNER', cell: ownerText, shrinkTo: 6 },
    { header: 'MODE', cell: (o) => formatOctal(o.mode) },
    { header: 'SIZE', align: 'right', cell: size },
    {
      header: 'USE',
      align: 'right',
      cell: useText,
      style: (o) => (useText(o) === '0' ? 'dim' : undefined),
    },
    { header: 'INFO', cell: info, shrinkTo: 8, shrinkFirstTo: infoKept, style: infoStyle },
  ];
  return renderTable(objects, columns, { width, color, wide: s.wide });
}

const HELP = `Usage: shmkit ls [options]

List the shared memory, semaphores and message queues on this host: System
V segments, semaphore sets and message queues (/proc/sysvipc), POSIX shared
memory objects and named semaphores (/dev/shm), POSIX message queues
(/dev/mqueue, when mounted), and which processes use each.

Columns: TYPE, NAME (what inspect and rm take), ID (System V), OWNER, MODE,
SIZE, USE (System V attachments, or processes mapping or holding the object
open; '?' counts processes this user may not inspect), INFO.

Options:
${SELECT_HELP}
      --json         print the documented JSON instead (see the README)
  -h, --help         show this help

Examples:
  shmkit ls
  shmkit ls --type posix --owner "$USER" --sort size --reverse
  shmkit ls --json | jq -r '.objects[] | select(.nattch == 0) | .name'
`;

export const ls: Command = {
  name: 'ls',
  summary: 'list shared memory, semaphores and message queues, with their users',
  help: HELP,
  run(args, context: Context) {
    if (wantsHelp(args)) {
      context.out.write(HELP);
      return EXIT_OK;
    }
    const { values } = parse(
      'ls',
      args,
      { ...SELECT_OPTIONS, json: { type: 'boolean' } },
      { min: 0, max: 0, what: '' },
    );
    const s = selection('ls', values);
    const inventory = takeInventory({ types: s.types });
    const objects = select(inventory.objects, s);
    if (values.json === true) {
      const json: LsJson = {
        shmkit: 'ls',
        schema: JSON_SCHEMA,
        time: new Date().toISOString(),
        objects,
        warnings: inventory.warnings,
      };
      context.out.line(JSON.stringify(json, null, 2));
      return EXIT_OK;
    }
    for (const warning of inventory.warnings) warn(context, warning);
    for (const line of lsTable(objects, s, context.out.width, context.out.color)) {
      if (!context.out.line(line)) break;
    }
    return EXIT_OK;
  },
};
