// Attach-before-init: create without a name, initialise, publish atomically;
// waitFor in another process; sparse objects; generated names.
import { readdirSync, statSync } from 'node:fs';
import { compileC, run, runNode, spawnNode, uniqueName, waitForLine } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { PosixShm } from '../src/index';
import { name, pkgDir, track } from './helpers';

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

async function rejected(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

const leftovers = (prefix: string) => readdirSync('/dev/shm').filter((f) => f.startsWith(prefix));

describe('create without publishing, then publish', () => {
  it('the object has no name until publish(), then appears with what was written into it', () => {
    const n = name();
    const shm = PosixShm.create(n, { size: 8192, publish: false, mode: 0o640 });
    expect([shm.published, shm.created, shm.name]).toEqual([false, true, n]);
    expect(thrown(() => PosixShm.open(n)).code).toBe('ENOENT');
    expect(PosixShm.list().some((o) => o.name === n)).toBe(false);
    const map = shm.map();
    map.int32Array()[0] = 42;
    shm.publish();
    expect(shm.published).toBe(true);
    using seen = PosixShm.open(n, { readOnly: true });
    using view = seen.map();
    expect([view.int32Array()[0], seen.size, seen.stat().mode]).toEqual([42, 8192, 0o640]);
    map.close();
    shm.close();
  });

  it('publish() over a name taken meanwhile fails with EEXIST and leaves both objects intact', () => {
    const n = name();
    using draft = PosixShm.create(n, { size: 4096, publish: false });
    using other = PosixShm.create(n, { size: 12288, exclusive: true });
    const error = thrown(() => draft.publish());
    expect(error).toMatchObject({ code: 'EEXIST', syscall: 'linkat', ipcName: n });
    expect(draft.published).toBe(false);
    expect(PosixShm.open(n).size).toBe(12288);
    expect(draft.size).toBe(4096);
    expect(other.published).toBe(true);
  });

  it('refuses what makes no sense for an object without a name, with codes', () => {
    const n = name();
    using draft = PosixShm.create(n, { size: 4096, publish: false });
    expect(thrown(() => draft.unlink()).code).toBe('ERR_SHMKIT_NOT_PUBLISHED');
    draft.publish();
    expect(thrown(() => draft.publish()).code).toBe('ERR_SHMKIT_PUBLISHED');
    expect(
      thrown(() => PosixShm.create(name(), { size: 1, publish: false, exclusive: false })).code,
    ).toBe('ERR_INVALID_ARG_VALUE');
    expect(thrown(() => PosixShm.create(name(), { size: 1, publish: 'no' as never })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    draft.close();
    expect(thrown(() => draft.publish()).code).toBe('ERR_SHMKIT_CLOSED');
  });

  it('a creator killed before publishing leaves nothing behind', async () => {
    const prefix = uniqueName('shmkit-killed');
    const child = spawnNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       const shm = PosixShm.create('/${prefix}', { size: 1 << 20, publish: false });
       shm.map().uint8Array().fill(7);
       console.log('initialising');
       setInterval(() => {}, 1000);`,
      { cwd: pkgDir },
    );
    await waitForLine(child, /initialising/);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(leftovers(prefix)).toEqual([]);
  });
});

describe('waitFor', () => {
  it('returns at once for an existing object, and after publish() for a new one', async () => {
    const n = name();
    using existing = PosixShm.create(n, { size: 4096 });
    using now = await PosixShm.waitFor(n, { readOnly: true });
    expect([now.readOnly, now.size]).toEqual([true, existing.size]);

    const later = name();
    const waiting = PosixShm.waitFor(later, { timeout: 10_000 });
    using draft = PosixShm.create(later, { size: 4096, publish: false });
    using map = draft.map();
    map.int32Array()[1] = 7;
    setTimeout(() => draft.publish(), 20);
    using got = await waiting;
    using seen = got.map();
    expect(seen.int32Array()[1]).toBe(7);
  });

  it('times out with ETIMEDOUT, aborts with ABORT_ERR, and checks its arguments', async () => {
    const n = name();
    expect(await rejected(PosixShm.waitFor(n, { timeout: 50 }))).toMatchObject({
      code: 'ETIMEDOUT',
    });
    const controller = new AbortController();
    const pending = PosixShm.waitFor(n, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(await rejected(pending)).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(await rejected(PosixShm.waitFor(n, { signal: AbortSignal.abort() }))).toMatchObject({
      code: 'ABORT_ERR',
    });
    for (const [args, code] of [
      [['no-slash'], 'ERR_INVALID_ARG_VALUE'],
      [['/a/b'], 'ERR_INVALID_ARG_VALUE'],
      [[42], 'ERR_INVALID_ARG_TYPE'],
      [[n, { timeout: -1 }], 'ERR_OUT_OF_RANGE'],
      [[n, { timeout: '1' }], 'ERR_INVALID_ARG_TYPE'],
      [[n, { signal: {} }], 'ERR_INVALID_ARG_TYPE'],
      [[n, { readOnly: 1 }], 'ERR_INVALID_ARG_TYPE'],
    ] as const) {
      const error = await rejected(
        (PosixShm.waitFor as (...a: unknown[]) => Promise<unknown>)(...args),
      );
      expect({ args, code: error.code }).toEqual({ args, code });
    }
  });

  it('an aborted or timed-out wait leaves nothing that keeps the process alive', async () => {
    const r = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       const c = new AbortController();
       const a = PosixShm.waitFor('/${uniqueName('never')}', { signal: c.signal }).catch((e) => e.code);
       const b = PosixShm.waitFor('/${uniqueName('never')}', { timeout: 30 }).catch((e) => e.code);
       c.abort();
       console.log(await a, await b);`,
      { cwd: pkgDir, timeout: 20_000 },
    );
    expect(r).toMatchObject({ code: 0, signal: null, stdout: 'ABORT_ERR ETIMEDOUT\n' });
  });

  it('never sees a half-initialised object: 2000 rounds between two processes', async () => {
    const prefix = uniqueName('shmkit-race');
    const rounds = 2000;
    // The waiter starts first, so at least its first rounds must wait; after
    // that the two drift, and rounds both find the name at once and wait
    // for it. Each object: 16 words, word 0 written last.
    const waiter = spawnNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       let waited = 0, bad = 0;
       console.log('ready');
       for (let i = 0; i < ${rounds}; i++) {
         const n = '/${prefix}-' + i;
         try { PosixShm.open(n).close(); } catch { waited++; }
         const shm = await PosixShm.waitFor(n, { timeout: 20000 });
         const m = shm.map({ readOnly: true });
         const w = m.int32Array();
         if (w[0] !== 0x5eed || w.subarray(1, 16).some((x) => x !== i)) bad++;
         m.close(); shm.close(); PosixShm.unlink(n);
       }
       console.log(JSON.stringify({ waited, bad }));`,
      { cwd: pkgDir },
    );
    const out: string[] = [];
    waiter.stdout!.setEncoding('utf8').on('data', (d: string) => out.push(d));
    // Listen now: the waiter may finish before the creator's run returns.
    const closed = new Promise<number | null>((r) => waiter.on('close', r));
    await waitForLine(waiter, /ready/);
    const creator = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       for (let i = 0; i < ${rounds}; i++) {
         const shm = PosixShm.create('/${prefix}-' + i, { size: 4096, publish: false });
         const m = shm.map();
         const w = m.int32Array();
         w.fill(i, 1, 16);
         Atomics.store(w, 0, 0x5eed);
         shm.publish();
         m.close(); shm.close();
       }`,
      { cwd: pkgDir, timeout: 120_000 },
    );
    expect(creator).toMatchObject({ code: 0, stderr: '' });
    expect(await closed).toBe(0);
    const result = JSON.parse(out.join('').split('\n').filter(Boolean).at(-1)!) as {
      waited: number;
      bad: number;
    };
    expect(result.bad).toBe(0);
    expect(result.waited).toBeGreaterThan(0);
    expect(leftovers(prefix)).toEqual([]);
  });

  it('a C reader polling shm_open never finds a published object uninitialised', async () => {
    const prefix = uniqueName('shmkit-crace');
    const rounds = 1000;
    const reader = compileC(
      String.raw`
      #include <fcntl.h>
      #include <stdio.h>
      #include <stdlib.h>
      #include <sys/mman.h>
      #include <unistd.h>
      int main(int argc, char **argv) {
        int rounds = atoi(argv[2]), bad = 0;
        char name[300];
        for (int i = 0; i < rounds; i++) {
          snprintf(name, sizeof name, "/%s-%d", argv[1], i);
          int fd;
          while ((fd = shm_open(name, O_RDONLY, 0)) < 0) ; /* spin: the harshest reader */
          int *w = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
          if (w == MAP_FAILED || w[0] != 0x5eed || w[15] != i) bad++;
          munmap(w, 4096); close(fd); shm_unlink(name);
        }
        printf("%d\n", bad);
        return 0;
      }`,
      [],
    );
    const cReader = run(reader, [prefix, String(rounds)], { timeout: 120_000 });
    const creator = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       for (let i = 0; i < ${rounds}; i++) {
         const shm = PosixShm.create('/${prefix}-' + i, { size: 4096, publish: false });
         const m = shm.map();
         const w = m.int32Array();
         w.fill(i, 1, 16);
         Atomics.store(w, 0, 0x5eed);
         shm.publish();
         m.close(); shm.close();
       }`,
      { cwd: pkgDir, timeout: 120_000 },
    );
    expect(creator).toMatchObject({ code: 0, stderr: '' });
    expect(await cReader).toMatchObject({ code: 0, stdout: '0\n' });
    expect(leftovers(prefix)).toEqual([]);
  });
});

describe('sparse objects and generated names', () => {
  it('reserve: false makes a large object at once, holding no pages until they are touched', () => {
    const n = name();
    using sparse = PosixShm.create(n, { size: 1 << 30, reserve: false });
    expect(sparse.size).toBe(1 << 30);
    const blocks = () => statSync(`/dev/shm${n}`).blocks * 512;
    expect(blocks()).toBeLessThan(1 << 20);
    using map = sparse.map({ length: 1 << 20 });
    map.uint8Array().fill(1);
    expect(blocks()).toBeGreaterThanOrEqual(1 << 20);
    const reserved = name();
    using full = PosixShm.create(reserved, { size: 8 << 20 });
    expect(statSync(`/dev/shm${reserved}`).blocks * 512).toBeGreaterThanOrEqual(8 << 20);
    expect(full.size).toBe(8 << 20);
  });

  it('create({ size }) makes a new object under a unique generated name', () => {
    using a = PosixShm.create({ size: 4096 });
    using b = PosixShm.create({ size: 4096, mode: 0o644, reserve: false });
    track(a.name);
    track(b.name);
    expect(a.name).toMatch(/^\/shmkit-[0-9a-f]{16}$/);
    expect(a.name).not.toBe(b.name);
    expect([a.created, b.stat().mode]).toEqual([true, 0o644]);
    using other = PosixShm.open(a.name);
    expect(other.size).toBe(4096);
    using draft = PosixShm.create({ size: 4096, publish: false });
    track(draft.name);
    expect(draft.name).toMatch(/^\/shmkit-[0-9a-f]{16}$/);
    draft.publish();
    expect(PosixShm.open(draft.name).size).toBe(4096);
    expect(thrown(() => PosixShm.create({ size: 1, exclusive: false })).code).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
    expect(thrown(() => PosixShm.create({ size: 0 })).code).toBe('ERR_OUT_OF_RANGE');
  });
});
