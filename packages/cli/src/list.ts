// `shmkit ls --json` as a function, for programs that would rather not
// start a process to ask.
import { OBJECT_TYPES, JSON_SCHEMA, type LsJson, type ObjectType } from './model';
import { takeInventory } from './sources/inventory';
import { invalidArgValue, validateOptions } from '@shmkit/core/internal';

/** Options of {@link list}. */
export interface ListOptions {
  /** The kinds of object to list. Default: all of them. */
  types?: readonly ObjectType[];
  /** Find the processes using each object (a pass over /proc). Default true. */
  users?: boolean;
}

/**
 * What `shmkit ls --json` prints, as an object: every System V and POSIX
 * object on the host that this process can see, with who uses each.
 *
 * @example
 * ```js
 * import { list } from '@shmkit/cli';
 * for (const object of list({ types: ['posix-shm'] }).objects) console.log(object.name, object.size);
 * ```
 * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown type.
 */
export function list(options?: ListOptions): LsJson {
  const opts = validateOptions(options);
  const types = opts.types ?? OBJECT_TYPES;
  for (const type of types) {
    if (!(OBJECT_TYPES as readonly string[]).includes(type)) {
      throw invalidArgValue('options.types', `must hold only ${OBJECT_TYPES.join(', ')}`, types);
    }
  }
  const inventory = takeInventory({ types: new Set(types), users: opts.users !== false });
  return {
    shmkit: 'ls',
    schema: JSON_SCHEMA,
    time: new Date().toISOString(),
    objects: inventory.objects,
    warnings: inventory.warnings,
  };
}
