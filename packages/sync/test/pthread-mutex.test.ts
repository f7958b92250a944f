import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { compileC, run, runNode, spawnNode, waitForLine } from '@shmkit/testing';
import { mapAnonymous } from '@shmkit/core';
import { PthreadMutex } from '../src/index';
import {
  childArgs,
  childPrelude,
  cleanUp,
  exited,
  expectCode,
  killAfterTest,
  pkgDir,
  sharedFile,
  sleep,
} from './helpers';

afterEach(cleanUp);

const cUser = (): string =>
  compileC(readFileSync(join(pkgDir, 'test', 'pthread-user.c'), 'utf8'), ['-lpthread']);

describe('PthreadMutex', () => {
  it('is glibc pthread_mutex_t with pthread error codes', async () => {
    const file = sharedFile();
    expect(PthreadMutex.byteLength).toBeGreaterThanOrEqual(40);
    expect(PthreadMutex.alignment).toBe(8);
    const mutex = PthreadMutex.init(file.mapping, 64);
    {
      using guard = mutex.lock();
      expect(guard.ownerDied).toBe(false);
      expect(mutex.tryLock()).toBeNull();
      expectCode(() => mutex.lock(), 'EDEADLK');
      expectCode(() => mutex.markConsistent(), 'EINVAL');
    }
    expectCode(() => mutex.unlock(), 'EPERM');
    const held = await mutex.lockAsync();
    await expect(mutex.lockAsync({ timeout: 30 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const controller = new AbortController();
    const aborted = mutex.lockAsync({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    const next = mutex.lockAsync();
    await sleep(20);
    held.unlock();
    (await next).unlock();
    PthreadMutex.attach(file.mapping, 64).lock({ timeout: 100, spin: 10 }).unlock();
    expectCode(() => PthreadMutex.attach(file.mapping, 128), 'ERR_SHMKIT_NOT_INITIALIZED');
    expectCode(() => PthreadMutex.init(file.mapping, 4), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => PthreadMutex.init(file.mapping, 4096 - 8), 'ERR_OUT_OF_RANGE');
  });

  it('C programs calling pthread_mutex_lock share it with node (sync and async lockers)', async () => {
    const file = sharedFile();
    PthreadMutex.init(file.mapping, 0);
    const size = PthreadMutex.byteLength;
    const script = `${childPrelude}
      const mutex = shmkitSync.PthreadMutex.attach(mapping, 0);
      const counter = mapping.int32Array(${size}, 1);
      for (let i = 0; i < 30000; i++) {
        const guard = i % 2 ? mutex.lock() : await mutex.lockAsync();
        counter[0] = counter[0] + 1;
        guard.unlock();
      }
      say('done');`;
    const results = await Promise.all([
      runNode(script, { cwd: pkgDir, args: childArgs(file) }),
      runNode(script, { cwd: pkgDir, args: childArgs(file) }),
      run(cUser(), [file.path, '0', 'count', '30000']),
      run(cUser(), [file.path, '0', 'count', '30000']),
    ]);
    for (const r of results) expect(r.stderr + r.stdout).toBe('done\n');
    expect(file.mapping.int32Array(size, 1)[0]).toBe(120_000);
  });

  it('owner death is reported both ways through the kernel robust list', async () => {
    const file = sharedFile();
    const mutex = PthreadMutex.init(file.mapping, 0);
    const c = spawn(cUser(), [file.path, '0', 'hold'], { stdio: 'pipe' });
    killAfterTest(c);
    await waitForLine(c, /locked/);
    expect(mutex.tryLock()).toBeNull();
    expect(() => mutex.lock({ timeout: 30 })).toThrow(
      expect.objectContaining({ code: 'ETIMEDOUT', syscall: 'pthread_mutex_clocklock' }),
    );
    const pending = mutex.lockAsync({ timeout: 10_000 });
    await sleep(50);
    const killedAt = performance.now();
    c.kill('SIGKILL');
    const guard = await pending;
    expect(performance.now() - killedAt).toBeLessThan(1000);
    expect(guard.ownerDied).toBe(true);
    guard.markConsistent();
    guard.unlock();

    const holder = spawnNode(
      `${childPrelude}
      shmkitSync.PthreadMutex.attach(mapping, 0).lock();
      say('locked');
      setInterval(() => {}, 1000);`,
      { cwd: pkgDir, args: childArgs(file) },
    );
    killAfterTest(holder);
    await waitForLine(holder, /locked/);
    holder.kill('SIGKILL');
    await exited(holder);
    const after = await run(cUser(), [file.path, '0', 'lock']);
    expect(after.stdout).toBe('owner-died\n');
    const again = mutex.lock({ timeout: 1000 });
    expect(again.ownerDied).toBe(false);
    again.unlock();

    // Unlocking a taken-over mutex without markConsistent ends it.
    const c2 = spawn(cUser(), [file.path, '0', 'hold'], { stdio: 'pipe' });
    killAfterTest(c2);
    await waitForLine(c2, /locked/);
    c2.kill('SIGKILL');
    await exited(c2);
    const orphan = mutex.lock({ timeout: 1000 });
    expect(orphan.ownerDied).toBe(true);
    orphan.unlock();
    expectCode(() => mutex.lock(), 'ENOTRECOVERABLE');
    expectCode(() => mutex.tryLock(), 'ENOTRECOVERABLE');
    await expect(mutex.lockAsync()).rejects.toMatchObject({ code: 'ENOTRECOVERABLE' });
  });
});

describe('PthreadMutex over memory glibc would abort on', () => {
  it('refuses kinds with the PI/PP bits or unknown bits before calling glibc', async () => {
    // The review's reproducer (glibc asserted in pthread_mutex_clocklock and
    // aborted), in a child so that a regression fails this test instead of
    // killing the worker.
    const result = await runNode(
      `import { PthreadMutex } from '@shmkit/sync';
      const sab = new SharedArrayBuffer(64);
      const v = new Int32Array(sab);
      v[0] = 0x7ffffff0; // lock word: a tid that does not exist
      v[4] = 16 | 32 | 128; // kind: ROBUST | PRIO_INHERIT | PSHARED
      const codes = [];
      const attempt = (f) => { try { f(); codes.push('none'); } catch (e) { codes.push(e.code); } };
      attempt(() => PthreadMutex.attach(sab, 0));
      const mutex = PthreadMutex.init(sab, 0);
      v[0] = 0x7ffffff0;
      for (const kind of [16 | 32 | 128 | 2, 16 | 64 | 128 | 2, 0x10092, 16 | 2, 128 | 2]) {
        v[4] = kind; // rewritten after init/attach
        attempt(() => mutex.lock({ timeout: 100 }));
        attempt(() => mutex.tryLock());
        codes.push(await mutex.lockAsync({ timeout: 100 }).then(() => 'none', (e) => e.code));
        attempt(() => mutex.unlock());
        attempt(() => mutex.markConsistent());
      }
      console.log(codes.join(' '));`,
      { cwd: pkgDir, timeout: 20_000 },
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split(' ')).toEqual(Array(26).fill('ERR_SHMKIT_NOT_INITIALIZED'));
  });

  it('accepts every robust process-shared type C can make', () => {
    const file = sharedFile();
    const mutex = PthreadMutex.init(file.mapping, 0);
    const kind = file.mapping.int32Array(16, 1);
    expect(kind[0]).toBe(0x92); // robust | pshared | errorcheck
    // normal (glibc adds NO_ELISION), recursive, errorcheck, adaptive
    for (const k of [0x290, 0x91, 0x92, 0x93]) {
      kind[0] = k;
      PthreadMutex.attach(file.mapping, 0);
      mutex.lock().unlock();
    }
  });
});

describe('PthreadMutex keeps the memory of a held mutex mapped', () => {
  it('survives close, protect and garbage collection while held (robust list)', async () => {
    // The review's reproducer: glibc links a held robust mutex into the
    // thread's robust list and the next lock writes through it, so memory
    // unmapped or freed while held crashed the process (SIGSEGV). Run in a
    // child so that a regression fails this test instead of the worker.
    const result = await runNode(
      `import { readFileSync } from 'node:fs';
      import { mapAnonymous } from '@shmkit/core';
      import { PthreadMutex } from '@shmkit/sync';
      const mapped = (m) => readFileSync('/proc/self/maps', 'utf8').includes(m.address.toString(16) + '-');
      const code = (f) => { try { f(); return 'none'; } catch (e) { return e.code; } };
      const out = [];
      const m1 = mapAnonymous(4096);
      const a = PthreadMutex.init(m1, 0);
      const guard = a.lock();
      out.push(code(() => m1.protect('none')), code(() => m1.protect('read')));
      m1.close(); // detaches at once, unmaps at unlock
      out.push(m1.buffer.byteLength, mapped(m1));
      const b = PthreadMutex.init(new SharedArrayBuffer(64), 0);
      b.lock().unlock(); // wrote through the dangling entry before the fix
      guard.unlock(); // through the pin: the JS view is gone
      out.push(mapped(m1));
      b.lock().unlock();

      // tryLock and lockAsync pin too; so does a lock that reports ownerDied.
      const m2 = mapAnonymous(4096);
      const c = PthreadMutex.init(m2, 0);
      const t = c.tryLock();
      m2.close();
      b.lock().unlock();
      t.unlock();
      const m3 = mapAnonymous(4096);
      const d = PthreadMutex.init(m3, 0);
      const g = await d.lockAsync();
      m3.close();
      b.lock().unlock();
      g.unlock();

      // A SharedArrayBuffer is referenced while held, so it is not collected.
      (() => { PthreadMutex.init(new SharedArrayBuffer(64), 0).lock(); })();
      for (let i = 0; i < 5; i++) { globalThis.gc(); new ArrayBuffer(1 << 20); }
      b.lock().unlock();
      console.log(out.join(' '));`,
      { cwd: pkgDir, timeout: 20_000, nodeArgs: ['--expose-gc'] },
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('ERR_SHMKIT_BUSY ERR_SHMKIT_BUSY 0 true false');
  });

  it('holds the pin exactly while the mutex is held', async () => {
    using mapping = mapAnonymous(4096);
    let mutex = PthreadMutex.init(mapping, 0);
    const revoke = (): void => {
      mapping.protect('none');
      mapping.protect('read-write'); // a fresh buffer: attach again
      mutex = PthreadMutex.attach(mapping, 0);
    };
    const busy = (): void => expectCode(() => mapping.protect('none'), 'ERR_SHMKIT_BUSY');
    revoke();
    let guard = mutex.lock();
    busy();
    expect(mutex.tryLock()).toBeNull();
    expectCode(() => mutex.lock(), 'EDEADLK');
    expectCode(() => PthreadMutex.init(mapping, 0), 'EBUSY');
    busy();
    await expect(mutex.lockAsync({ timeout: 20 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    busy();
    guard.unlock();
    expectCode(() => mutex.unlock(), 'EPERM');
    revoke();
    guard = mutex.tryLock()!;
    busy();
    guard.unlock();
    revoke();
    guard = await mutex.lockAsync();
    busy();
    guard.unlock();
    revoke();
    guard = mutex.lock();
    const controller = new AbortController();
    const aborted = mutex.lockAsync({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    guard.unlock();
    revoke(); // no pin left behind by the aborted wait
  });

  it('a worker that ends holding one leaves it owner-died, not stuck', async () => {
    // The worker's pins outlive its thread-local teardown, so the kernel's
    // robust-list walk at thread exit still finds the mutex and marks it.
    const file = sharedFile();
    PthreadMutex.init(file.mapping, 0);
    const result = await runNode(
      `${childPrelude}
      import { Worker } from 'node:worker_threads';
      import { createRequire } from 'node:module';
      import { pathToFileURL } from 'node:url';
      const url = (name) => pathToFileURL(createRequire(process.cwd() + '/').resolve(name)).href;
      const worker = new Worker(
        \`const { openSync } = await import('node:fs');
        const { parentPort } = await import('node:worker_threads');
        const { adoptMapping, native } = await import(\${JSON.stringify(url('@shmkit/core/internal'))});
        const { PthreadMutex } = await import(\${JSON.stringify(url('@shmkit/sync'))});
        const fd = openSync(\${JSON.stringify(path)}, 'r+');
        const m = adoptMapping(native.mapFd(fd, 0, 4096, {}), { kind: 'file' });
        PthreadMutex.attach(m, 0).lock();
        parentPort.postMessage('locked');
        setInterval(() => {}, 1000);\`,
        { eval: true },
      );
      await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
      const guard = shmkitSync.PthreadMutex.attach(mapping, 0).lock({ timeout: 5000 });
      say(String(guard.ownerDied));
      guard.markConsistent();
      guard.unlock();`,
      { cwd: pkgDir, args: childArgs(file), timeout: 20_000 },
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('true\n');
  });

  it('checks the robust list links glibc unlinks through on unlock', async () => {
    // glibc's unlock writes through the __list links inside the mutex; JS
    // can rewrite them in a SharedArrayBuffer (SIGSEGV before the fix).
    const result = await runNode(
      `import { PthreadMutex } from '@shmkit/sync';
      const v = new Int32Array(new SharedArrayBuffer(192));
      const [a, b, c] = [0, 64, 128].map((offset) => PthreadMutex.init(v, offset));
      const code = (f) => { try { f(); return 'none'; } catch (e) { return e.code; } };
      const junk = (offset, value) => v.fill(value, offset / 4 + 6, offset / 4 + 10);
      const out = [];
      // One corrupted mutex between held ones: repaired from its neighbours.
      const [ga, gb, gc] = [a.lock(), b.lock(), c.lock()];
      junk(64, 0x1000);
      out.push(code(() => gb.unlock()));
      // Both neighbours corrupted as well: refused, nothing written.
      junk(0, 0x2000);
      junk(128, 0x3000);
      out.push(code(() => ga.unlock()), code(() => gc.unlock()));
      // A lock word forged to this thread's id on a mutex it never locked.
      const d = PthreadMutex.init(new SharedArrayBuffer(64), 0);
      const tid = (() => { const g = b.lock(); const t = v[16]; g.unlock(); return t; })();
      const forged = new Int32Array(new SharedArrayBuffer(64));
      const e = PthreadMutex.init(forged, 0);
      forged[0] = tid;
      out.push(code(() => e.unlock()), code(() => d.unlock()));
      b.lock().unlock();
      console.log(out.join(' '));`,
      { cwd: pkgDir, timeout: 20_000 },
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('none EINVAL EINVAL EPERM EPERM');
  });

  it('takes only memory it can keep alive while held', () => {
    const file = sharedFile();
    expectCode(() => PthreadMutex.init(new ArrayBuffer(64), 0), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => PthreadMutex.init(file.mapping.int32Array(0, 16), 0), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => PthreadMutex.attach(new Int32Array(16), 0), 'ERR_INVALID_ARG_TYPE');
    const sab = new Int32Array(new SharedArrayBuffer(128), 64);
    PthreadMutex.init(sab, 8).lock().unlock();
  });
});
