import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { compileC, run } from '@shmkit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { groupName, userName } from '../src/index';

const corePackage = resolve(__dirname, '..');

// A name service module as a directory service (LDAP, SSSD) would provide:
// one user and one group that exist nowhere in /etc/passwd or /etc/group.
// The group's entry needs 5000 bytes of buffer, more than glibc's suggested
// 1024, so the lookup must grow its buffer on ERANGE to find it.
const NSS_MODULE = String.raw`
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>

enum nss_status _nss_shmkittest_getpwuid_r(uid_t uid, struct passwd *pw, char *buf,
                                           size_t len, int *errnop) {
  static const char name[] = "shmkit-directory-user";
  if (uid != 4242421) return NSS_STATUS_NOTFOUND;
  if (len < sizeof name + 16) { *errnop = ERANGE; return NSS_STATUS_TRYAGAIN; }
  memcpy(buf, name, sizeof name);
  pw->pw_name = buf;
  pw->pw_passwd = buf + sizeof name - 1;
  pw->pw_gecos = pw->pw_passwd;
  pw->pw_dir = pw->pw_passwd;
  pw->pw_shell = pw->pw_passwd;
  pw->pw_uid = uid;
  pw->pw_gid = 4242421;
  return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_shmkittest_getgrgid_r(gid_t gid, struct group *gr, char *buf,
                                           size_t len, int *errnop) {
  static const char name[] = "shmkit-directory-group";
  if (gid != 4242421) return NSS_STATUS_NOTFOUND;
  if (len < 5000) { *errnop = ERANGE; return NSS_STATUS_TRYAGAIN; }
  char **members = (char **)buf;
  members[0] = NULL;
  memcpy(buf + sizeof(char *), name, sizeof name);
  gr->gr_name = buf + sizeof(char *);
  gr->gr_passwd = gr->gr_name + sizeof name - 1;
  gr->gr_gid = gid;
  gr->gr_mem = members;
  return NSS_STATUS_SUCCESS;
}
`;

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('userName / groupName', () => {
  it('name the ids the system knows', () => {
    expect(userName(0)).toBe('root');
    expect(groupName(0)).toBe('root');
    const me = userInfo();
    expect(userName(me.uid)).toBe(me.username);
  });

  it('agree with /etc/passwd and /etc/group for every local entry', () => {
    for (const [file, lookup] of [
      ['/etc/passwd', userName],
      ['/etc/group', groupName],
    ] as const) {
      const seen = new Set<number>();
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (!name || id === undefined || seen.has(Number(id))) continue;
        seen.add(Number(id));
        expect(lookup(Number(id))).toBe(name);
      }
      expect(seen.size).toBeGreaterThan(3);
    }
  });

  it('return undefined for ids nobody has', () => {
    expect(userName(4_000_000_123)).toBeUndefined();
    expect(groupName(4_000_000_123)).toBeUndefined();
    expect(userName(0xffff_ffff)).toBeUndefined();
  });

  it.each([
    [-1, 'ERR_OUT_OF_RANGE', RangeError],
    [2 ** 32, 'ERR_OUT_OF_RANGE', RangeError],
    [1.5, 'ERR_OUT_OF_RANGE', RangeError],
    ['0', 'ERR_INVALID_ARG_TYPE', TypeError],
    [undefined, 'ERR_INVALID_ARG_TYPE', TypeError],
  ])('reject the id %s with %s', (id, code, type) => {
    for (const lookup of [userName, groupName]) {
      let caught: unknown;
      try {
        lookup(id as number);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(type);
      expect(caught).toMatchObject({ code });
    }
  });

  // The point of going through the C library: users that only a directory
  // service knows. The test plugs a name service module in with a private
  // mount namespace (its own /etc/nsswitch.conf), so it needs root.
  it('resolve users and groups that only a name service module knows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shmkit-nss-'));
    dirs.push(dir);
    const built = compileC(NSS_MODULE, ['-shared', '-fPIC']);
    copyFileSync(built, join(dir, 'libnss_shmkittest.so.2'));
    const conf = join(dir, 'nsswitch.conf');
    writeFileSync(conf, 'passwd: files shmkittest\ngroup: files shmkittest\n');
    const script = [
      `const core = require(${JSON.stringify(corePackage)});`,
      'console.log(JSON.stringify([core.userName(4242421), core.groupName(4242421), core.userName(4242422)]));',
    ].join('\n');
    const result = await run(
      'unshare',
      [
        '--mount',
        '--',
        'sh',
        '-c',
        'mount --bind "$0" /etc/nsswitch.conf && exec "$@"',
        conf,
        process.execPath,
        '-e',
        script,
      ],
      { env: { LD_LIBRARY_PATH: dir } },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([
      'shmkit-directory-user',
      'shmkit-directory-group',
      null,
    ]);
    expect(readFileSync('/etc/passwd', 'utf8')).not.toContain('shmkit-directory-user');
  });
});
