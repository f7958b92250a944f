// shmkit rm: removes objects, but not from under a live process, and not
// other users' objects, unless asked.
import { lstatSync, unlinkSync } from 'node:fs';
import { native } from '@shmkit/core/internal';
import { Fifo, SysvSemaphoreSet } from '@shmkit/sync';
import { listOption, parse, typesOption, wantsHelp } from '../args';
import { CommandError, describeError, EXIT_FAILURE, EXIT_OK, UsageError } from '../errors';
import { plural } from '../format';
import { OBJECT_TYPES, type IpcObject, type ObjectType, type Users } from '../model';
import { takeInventory } from '../sources/inventory';
import { isAlive } from '../sources/processes';
import {
  fifoAt,
  label,
  parseTarget,
  resolveTarget,
  type Target,
  type TargetObject,
} from '../targets';
import { globToRegExp } from './ls';
import { warn, type Command, type Context } from './context';

/** What is known about who uses an object: a reason not to remove it, or none. */
interface UseVerdict {
  /** Why it is in use, when it is (or may be). */
  reason: string | undefined;
  /** True when in use is only a possibility this user cannot rule out. */
  unsure: boolean;
}

function processesText(users: Users): string {
  return users.processes.map((p) => `pid ${p.pid}${p.command ? ` (${p.command})` : ''}`).join(', ');
}

function fileUse(users: Users, verb: string): UseVerdict {
  if (users.processes.length > 0)
    return { reason: `${verb} by ${processesText(users)}`, unsure: false };
  if (users.unchecked > 0) {
    return {
      reason: `${plural(users.unchecked, 'process', 'processes')} that could open it cannot be checked (maps not readable)`,
      unsure: true,
    };
  }
  return { reason: undefined, unsure: false };
}

function livePids(pids: number[]): number[] {
  return [...new Set(pids.filter((pid) => pid > 0 && isAlive(pid)))];
}

/** Whether a live process uses `object`, as far as this user can tell. */
export function useOf(object: TargetObject): UseVerdict {
  switch (object.type) {
    case 'sysv-shm':
      return object.nattch > 0
        ? {
            reason: `attached ${plural(object.nattch, 'time')}${object.users.processes.length ? ` (${processesText(object.users)})` : ''}`,
            unsure: false,
          }
        : { reason: undefined, unsure: false };
    case 'posix-shm':
    case 'posix-sem':
    case 'posix-mq':
      return fileUse(object.users, 'mapped or open');
    case 'fifo':
      return fileUse(object.users, 'open');
    case 'sysv-sem': {
      let values;
      try {
        const set = SysvSemaphoreSet.fromId(object.id);
        values = Array.from({ length: set.count }, (_, i) => ({
          pid: set.lastPid(i),
          waiting: set.waitingCount(i) + set.zeroWaitingCount(i),
        }));
      } catch (error) {
        return { reason: `cannot tell who uses it (${describeError(error)})`, unsure: true };
      }
      const waiting = values.reduce((sum, v) => sum + v.waiting, 0);
      if (waiting > 0)
        return {
          reason: `${plural(waiting, 'process', 'processes')} waiting on it`,
          unsure: false,
        };
      const live = livePids(values.map((v) => v.pid));
      return live.length > 0
        ? { reason: `last operated on by live pid ${live.join(', ')}`, unsure: false }
        : { reason: undefined, unsure: false };
    }
    case 'sysv-msg': {
      const live = livePids([object.lspid, object.lrpid]);
      return live.length > 0
        ? { reason: `last sent to or received from by live pid ${live.join(', ')}`, unsure: false }
        : { reason: undefined, unsure: false };
    }
  }
}

/**
 * Stale: left behind. The creator is dead (System V segments record it) and
 * no live process uses it as far as this user can see. POSIX objects and
 * System V semaphore sets and queues record no creator, so for them stale
 * means that no live process maps, holds or last used them.
 */
function isStale(object: IpcObject): boolean {
  if (object.type === 'sysv-shm') {
    return object.nattch === 0 && !object.removed && !object.cpidAlive && !isAlive(object.lpid);
  }
  const verdict = useOf(object);
  return verdict.reason === undefined;
}

/** True when this user owns (or, for System V, created) `object`. */
function owns(object: TargetObject): boolean {
  const me = process.geteuid?.() ?? -1;
  return object.owner.uid === me || ('creator' in object && object.creator.uid === me);
}

function remove(object: TargetObject): void {
  switch (object.type) {
    case 'sysv-shm':
      native.sysvShmRemove(object.id);
      return;
    case 'sysv-sem':
      native.sysvSemRemove(object.id);
      return;
    case 'sysv-msg':
      native.msgRemove(object.id);
      return;
    case 'posix-shm':
      native.posixShmUnlink(object.name);
      return;
    case 'posix-sem':
      native.semUnlink(object.name);
      return;
    case 'posix-mq':
      unlinkSync(object.path); // unlink on the mqueue file system is mq_unlink
      return;
    case 'fifo':
      Fifo.unlink(object.path);
      return;
  }
}

/** For a file-backed object: the file must still be the listed owner's, or it is not what was checked. */
function stillListed(object: TargetObject): boolean {
  if (!('path' in object)) return true;
  try {
    return lstatSync(object.path).uid === object.owner.uid;
  } catch {
    return false;
  }
}

const HELP = `Usage: shmkit rm [options] <id | key | /name | fifo-path>...
       shmkit rm --stale [options]

Remove System V segments and semaphore sets, POSIX shared memory objects,
named semaphores, POSIX message queues and FIFOs. Each removed object is
printed on stdout; refusals go to stderr and make the exit status 1.

rm refuses an object a live process still uses (attached, mapped, held open,
waiting on it, or its last user still alive), and one this user does not own,
whatever the permissions would allow.

--stale removes what was left behind: System V segments whose creator is
dead and that nothing is attached to, and other objects that no live process
uses as far as this user can see (POSIX objects record no creator). Objects
whose users this user cannot check are left alone. Try --dry-run first.

Options:
  -t, --type TYPE    which kind an object is, when its name fits several; with
                     --stale, the kinds to look at (fifo is not one: FIFOs are
                     only found by path)
  -f, --force        remove even what a live process uses
      --any-owner    also remove what other users own (as root, say)
      --stale        remove the stale objects (of this user, unless --any-owner)
  -u, --owner USER   with --stale: only objects owned by USER (needs --any-owner
                     for another user)
  -n, --name GLOB    with --stale: only objects whose name matches GLOB
      --dry-run      say what would be removed, remove nothing
  -h, --help         show this help

Examples:
  shmkit rm /shmkit-counter-demo
  shmkit rm --type sysv-sem 0x5eed0001
  shmkit rm --stale --dry-run
`;

export const rm: Command = {
  name: 'rm',
  summary: 'remove objects that no live process uses (or stale ones)',
  help: HELP,
  run(args, context: Context) {
    if (wantsHelp(args)) {
      context.out.write(HELP);
      return EXIT_OK;
    }
    const { values, positionals } = parse(
      'rm',
      args,
      {
        type: { type: 'string', short: 't', multiple: true },
        force: { type: 'boolean', short: 'f' },
        'any-owner': { type: 'boolean' },
        stale: { type: 'boolean' },
        owner: { type: 'string', short: 'u', multiple: true },
        name: { type: 'string', short: 'n', multiple: true },
        'dry-run': { type: 'boolean' },
      },
      { min: 0, max: Infinity, what: '' },
    );
    const stale = values.stale === true;
    const force = values.force === true;
    const anyOwner = values['any-owner'] === true;
    const dryRun = values['dry-run'] === true;
    const { types, extra } = typesOption('rm', values.type, stale ? [] : ['fifo']);
    if (stale && positionals.length > 0)
      throw new UsageError('give objects to remove or --stale, not both', 'rm');
    if (!stale && positionals.length === 0)
      throw new UsageError('missing the objects to remove', 'rm');
    if (!stale && (values.owner !== undefined || values.name !== undefined)) {
      throw new UsageError('--owner and --name select objects for --stale', 'rm');
    }
    if (stale && force)
      throw new UsageError(
        '--force and --stale do not go together: stale objects are unused',
        'rm',
      );

    // Every target is parsed and resolved before anything is removed, so a
    // typo in the third one does not leave the first two removed.
    const targets: Target[] = positionals.map((text) => parseTarget('rm', text));
    const fifoDevices: bigint[] = [];
    for (const target of targets) {
      if (target.kind !== 'path') continue;
      if (values.type !== undefined && !extra.has('fifo')) {
        throw new UsageError(`'${target.text}' is a path, which only --type fifo names`, 'rm');
      }
      try {
        fifoDevices.push(lstatSync(target.path, { bigint: true }).dev);
      } catch {
        // reported when resolved
      }
    }
    const inventory = takeInventory({
      types: values.type === undefined ? new Set(OBJECT_TYPES) : types,
      extraDevices: fifoDevices,
    });
    let failed = false;
    const fail = (message: string) => {
      failed = true;
      context.err.line(`${context.err.paint('red', 'shmkit:')} rm: ${message}`);
    };

    const chosen: TargetObject[] = [];
    if (stale) {
      const owners = listOption(values.owner);
      const names = listOption(values.name).map(globToRegExp);
      let unsure = 0;
      for (const object of inventory.objects) {
        if (!types.has(object.type)) continue;
        if (!anyOwner && !owns(object)) continue;
        if (
          owners.length > 0 &&
          !owners.some((o) => o === object.owner.user || o === String(object.owner.uid))
        )
          continue;
        if (names.length > 0 && !names.some((re) => re.test(object.name))) continue;
        if (isStale(object)) chosen.push(object);
        else if (useOf(object).unsure) unsure += 1;
      }
      if (unsure > 0) {
        warn(
          context,
          `left ${plural(unsure, 'object')} alone: some processes that could use them cannot be checked`,
        );
      }
    } else {
      for (const target of targets) {
        try {
          chosen.push(
            target.kind === 'path'
              ? fifoAt('rm', target, inventory.scan)
              : resolveTarget(
                  'rm',
                  target,
                  inventory.objects,
                  new Set<ObjectType>(
                    [...types].filter((t) =>
                      target.kind === 'name' ? t.startsWith('posix-') : t.startsWith('sysv-'),
                    ),
                  ),
                  values.type !== undefined,
                ),
          );
        } catch (error) {
          if (error instanceof UsageError) throw error;
          fail(describeError(error));
        }
      }
    }

    for (const object of chosen) {
      if (!anyOwner && !owns(object)) {
        const who = object.owner.user ?? `uid ${object.owner.uid}`;
        fail(
          `refusing to remove ${label(object)}: it belongs to ${who}, not to this user (--any-owner removes it)`,
        );
        continue;
      }
      if (!force && !stale) {
        const verdict = useOf(object);
        if (verdict.reason !== undefined && !verdict.unsure) {
          fail(
            `refusing to remove ${label(object)}: ${verdict.reason} (--force removes it anyway)`,
          );
          continue;
        }
        // Named on the command line and no user seen: the operator's call,
        // with what could not be checked said out loud.
        if (verdict.reason !== undefined) warn(context, `${label(object)}: ${verdict.reason}`);
      }
      if (dryRun) {
        context.out.line(`would remove ${label(object)}`);
        continue;
      }
      try {
        if (!stillListed(object))
          throw new CommandError(`${label(object)} changed owner while rm looked at it`);
        remove(object);
        context.out.line(`removed ${label(object)}`);
      } catch (error) {
        fail(`${label(object)}: ${describeError(error)}`);
      }
    }
    return failed ? EXIT_FAILURE : EXIT_OK;
  },
};
