import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { compileC, run, runNode, spawnNode, waitForLine } from '@shmkit/testing';
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
