// What an unprivileged user sees (setpriv to nobody): every object's name,
// owner and size, but not the contents, values or users of objects the
// permissions keep from it, and the output says which is which.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { compileC, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import type { LsJson } from '../src/index';
import {
  HOLDER_C,
  asNobody,
  find,
  ipcmk,
  keep,
  pkgDir,
  posixName,
  removeLater,
  shmkit,
  started,
} from './helpers';

const hex = (key: number) => `0x${key.toString(16).padStart(8, '0')}`;

describe('as an unprivileged user', () => {
  it("lists root's objects without their values and users, and its own with them", async () => {
    const [rootName, rootSem, nobodyName] = [posixName(), posixName(), posixName()];
    const key = uniqueKey();
    const holder = keep(
      spawn(compileC(HOLDER_C, ['-pthread']), [rootName, '4096', rootSem, hex(key)]),
    );
    const [, rootPid, seg] = await started(holder);
    removeLater('shm', Number(seg));
    const mine = keep(
      spawn(
        asNobody[0]!,
        [
          ...asNobody.slice(1),
          process.execPath,
          '-e',
          `const { PosixShm } = require('@shmkit/posix-shm'); globalThis.shm = PosixShm.create(${JSON.stringify(nobodyName)}, { size: 8192 }); globalThis.map = shm.map(); console.log('ready', process.pid); setInterval(() => {}, 1000);`,
        ],
        { cwd: pkgDir },
      ),
    );
    const [, nobodyPid] = await started(mine);

    const result = await shmkit(['ls', '--json'], { wrapper: asNobody });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as LsJson;
    // Names, owners and sizes: /proc/sysvipc and /dev/shm show them to anyone.
    expect(find(json, 'posix-shm', { name: rootName })).toMatchObject({
      size: 4096,
      owner: { uid: 0, user: 'root' },
    });
    expect(find(json, 'sysv-shm', { id: Number(seg) })).toMatchObject({
      key,
      nattch: 1,
      cpid: Number(rootPid),
    });
    // The semaphore's bytes (0600, root's) are not readable: no value, and why.
    expect(find(json, 'posix-sem', { name: rootSem })).toMatchObject({
      value: null,
      waiters: null,
      problem: 'permission denied',
    });
    // Root's processes cannot be inspected: no users known, and it says so.
    const rootObject = find(json, 'posix-shm', { name: rootName })!;
    expect(rootObject.users.processes).toEqual([]);
    expect(rootObject.users.unchecked).toBeGreaterThan(0);
    expect(json.warnings.join('\n')).toMatch(/cannot read the maps of \d+ process/);
    // Its own process, it may inspect.
    expect(find(json, 'posix-shm', { name: nobodyName })!.users).toMatchObject({
      processes: [{ pid: Number(nobodyPid), how: ['map', 'fd'] }],
    });
    expect(find(json, 'posix-shm', { name: nobodyName })!.owner).toMatchObject({
      uid: 65534,
      user: 'nobody',
    });

    const table = await shmkit(
      ['ls', '--wide', '--type', 'posix', '--name', rootName, '--name', rootSem],
      { wrapper: asNobody },
    );
    expect(table.stdout).toMatch(
      new RegExp(`posix-shm\\s+${rootName}\\s+-\\s+root\\s+0640\\s+4\\.0K\\s+\\?\\s`),
    );
    expect(table.stdout).toMatch(new RegExp(`posix-sem\\s+${rootSem}.*value \\? \\(no access\\)`));
    expect(table.stderr).toMatch(/^shmkit: warning: cannot read the maps of/m);
  });

  it("cannot read the bytes of root's objects: one line with the call and the object", async () => {
    const name = posixName();
    writeFileSync(`/dev/shm${name}`, 'secret', { mode: 0o600 });
    const file = await shmkit(['inspect', name, '--hex'], { wrapper: asNobody });
    expect(file.code).toBe(1);
    expect(file.stderr).toBe(
      `shmkit: inspect: EACCES: permission denied, open '/dev/shm${name}'\n`,
    );

    const id = ipcmk(['-M', '4096', '-p', '0600']);
    const segment = await shmkit(['inspect', String(id), '--as', 'mutex'], { wrapper: asNobody });
    expect(segment.code).toBe(1);
    expect(segment.stderr).toMatch(
      new RegExp(`^shmkit: inspect: EACCES: permission denied, shmctl id ${id}`),
    );
  });
});
