// User and group names, resolved by the C library's name service switch
// (getpwuid_r/getgrgid_r), so owners from LDAP, SSSD or systemd's dynamic
// users get their names as `ls -l` shows them, not only /etc/passwd's.
import { native } from './loader';
import { validateInteger } from './validate';

/** Distinct ids remembered per kind before the cache starts over. */
const CACHE_LIMIT = 1024;

function cached(
  cache: Map<number, string | undefined>,
  id: number,
  lookup: (id: number) => string | undefined,
): string | undefined {
  if (cache.has(id)) return cache.get(id);
  const name = lookup(id);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(id, name);
  return name;
}

const users = new Map<number, string | undefined>();
const groups = new Map<number, string | undefined>();

/**
 * The login name of user `uid` (`getpwuid_r`), or `undefined` when no user
 * has that id. Answers are cached for the life of the process (a listing
 * names the same few owners many times, and a directory service lookup can
 * take milliseconds).
 *
 * @example
 * ```ts
 * import { userName } from '@shmkit/core';
 * console.log(userName(0)); // 'root'
 * ```
 * @throws TypeError ERR_INVALID_ARG_TYPE / RangeError ERR_OUT_OF_RANGE for
 *   a uid that is not an integer from 0 to 2^32 - 1.
 * @throws SystemError when the lookup itself fails (`syscall` 'getpwuid_r':
 *   an unreachable directory service, EMFILE...). A missing user is not an error.
 */
export function userName(uid: number): string | undefined {
  validateInteger(uid, 'uid', 0, 0xffff_ffff);
  return cached(users, uid, (id) => native.usersUserName(id));
}

/**
 * The name of group `gid` (`getgrgid_r`), or `undefined` when no group has
 * that id. Cached like {@link userName}.
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE / RangeError ERR_OUT_OF_RANGE for
 *   a gid that is not an integer from 0 to 2^32 - 1.
 * @throws SystemError when the lookup itself fails (`syscall` 'getgrgid_r').
 */
export function groupName(gid: number): string | undefined {
  validateInteger(gid, 'gid', 0, 0xffff_ffff);
  return cached(groups, gid, (id) => native.usersGroupName(id));
}

/**
 * {@link userName}, or the uid as a string when the user has no name or the
 * lookup fails: what `ls -l` and `ipcs` print. For listings that must not
 * fail because a directory service is down. (Exported from
 * `@shmkit/core/internal`.)
 */
export function ownerLabel(uid: number): string {
  try {
    return userName(uid) ?? String(uid);
  } catch {
    return String(uid);
  }
}
