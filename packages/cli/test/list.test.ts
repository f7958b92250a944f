// list(): `ls --json` as a function, inside a process that maps objects.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { list } from '../src/index';
import { ipcmk, lsJson, posixName } from './helpers';

describe('list()', () => {
  it('gives what ls --json prints', async () => {
    const name = posixName();
    writeFileSync(`/dev/shm${name}`, Buffer.alloc(100));
    const id = ipcmk(['-M', '4096']);
    const fromFunction = list();
    const fromCommand = await lsJson();
    for (const json of [fromFunction, fromCommand]) {
      expect(json).toMatchObject({ shmkit: 'ls', schema: 1 });
      expect(json.objects.find((o) => o.name === name)).toMatchObject({
        type: 'posix-shm',
        size: 100,
      });
      expect(
        json.objects.find((o) => 'id' in o && o.type === 'sysv-shm' && o.id === id),
      ).toMatchObject({ size: 4096 });
    }
    const onlySysv = list({ types: ['sysv-shm'], users: false });
    expect(onlySysv.objects.every((o) => o.type === 'sysv-shm')).toBe(true);
    expect(onlySysv.objects.find((o) => 'id' in o && o.id === id)).toMatchObject({
      users: { processes: [], unchecked: 0 },
    });
  });

  it.each([
    [{ types: ['fifo'] }, 'ERR_INVALID_ARG_VALUE', TypeError],
    ['all', 'ERR_INVALID_ARG_TYPE', TypeError],
  ])('rejects %j with %s', (options, code, type) => {
    let caught: unknown;
    try {
      list(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(type);
    expect(caught).toMatchObject({ code });
  });
});
