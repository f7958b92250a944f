import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { compileC, runNode, spawnNode, waitForLine } from '@shmkit/testing';
import { mapAnonymous } from '@shmkit/core';
import { adoptMapping, native } from '@shmkit/core/internal';
import { Mutex, MutexGuard } from '../src/index';
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
  until,
  type SharedFile,
} from './helpers';

afterEach(cleanUp);

const cProgram = (): string =>
  compileC(readFileSync(join(pkgDir, 'test', 'mutex-protocol.c'), 'utf8'));

/** A node child that locks the mutex at offset 0, says "locked <tid>", and unlocks on a stdin line. */
function holder(file: SharedFile): ChildProcess {
  const child = spawnNode(
    `${childPrelude}
    const mutex = Mutex.attach(mapping, 0);
    const guard = mutex.lock();
    say('locked ' + native.syncGettid());
    process.stdin.once('data', () => { guard.unlock(); say('unlocked'); process.exit(0); });`,
    { cwd: pkgDir, args: childArgs(file) },
  );
  killAfterTest(child);
  return child;
}

describe('Mutex in one thread', () => {
  it('locks and unlocks with Atomics, with guards that work with using', () => {
    const file = sharedFile();
    const mutex = Mutex.init(file.mapping, 8);
    expect(Mutex.byteLength).toBe(4);
    expect(Mutex.alignment).toBe(4);
    expect(mutex.state).toBe('unlocked');
    {
      using guard = mutex.lock();
      expect(guard).toBeInstanceOf(MutexGuard);
      expect(guard.ownerDied).toBe(false);
      expect(mutex.state).toBe('locked');
      expect(mutex.owner).toBe(native.syncGettid());
      expect(file.mapping.int32Array(8, 1)[0]).toBe(native.syncGettid());
      expect(mutex.tryLock()).toBeNull();
    }
    expect(mutex.state).toBe('unlocked');
    const guard = mutex.tryLock();
    expect(guard?.held).toBe(true);
    guard!.unlock();
    guard!.unlock();
    expect(guard!.held).toBe(false);
    mutex.lock({ timeout: 10, spin: 100 }).unlock();
    const other = Mutex.attach(file.mapping, 8);
    other.lock();
    expect(mutex.state).toBe('locked');
    mutex.unlock();
  });

  it('works on SharedArrayBuffer and Int32Array memory', () => {
    const sab = new SharedArrayBuffer(64);
    Mutex.init(sab, 4).lock().unlock();
    const words = new Int32Array(sab, 16, 4);
    const mutex = Mutex.init(words, 4);
    mutex.lock();
    expect(new Int32Array(sab)[5]).toBe(native.syncGettid());
    mutex.unlock();
  });

  it('reports misuse with pthread error codes', async () => {
    const mutex = Mutex.init(sharedFile().mapping, 0);
    expectCode(() => mutex.unlock(), 'EPERM');
    const guard = mutex.lock();
    expectCode(() => mutex.lock(), 'EDEADLK');
    expectCode(() => mutex.markConsistent(), 'EINVAL');
    guard.unlock();
    expectCode(() => mutex.markConsistent(), 'EPERM');
    expectCode(() => guard.markConsistent(), 'EPERM');
    try {
      mutex.unlock();
    } catch (error) {
      expect(error).toMatchObject({ code: 'EPERM', errno: -1, syscall: 'mutex_unlock' });
      expect((error as Error).message).toMatch(/^EPERM: operation not permitted, mutex_unlock /);
    }
  });

  it('two async lockers of one thread take turns', async () => {
    const mutex = Mutex.init(sharedFile().mapping, 0);
    const first = await mutex.lockAsync();
    const order: string[] = [];
    const second = mutex.lockAsync().then((g) => {
      order.push('second');
      g.unlock();
    });
    await sleep(30);
    order.push('first');
    first.unlock();
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(mutex.state).toBe('unlocked');
    const spun = await mutex.lockAsync({ spin: 100, timeout: 1000 });
    expect(spun.ownerDied).toBe(false);
    spun.unlock();
  });

  it('rejects bad arguments by code', async () => {
    const file = sharedFile();
    expectCode(() => Mutex.init(file.mapping, 2), 'ERR_INVALID_ARG_VALUE');
    expectCode(() => Mutex.init(file.mapping, 4096), 'ERR_OUT_OF_RANGE');
    expectCode(() => Mutex.init(file.mapping, -4), 'ERR_OUT_OF_RANGE');
    expectCode(() => Mutex.attach({} as never, 0), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => Mutex.attach(new Uint8Array(8) as never, 0), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => Mutex.init(new ArrayBuffer(2)), 'ERR_OUT_OF_RANGE');
    const mutex = Mutex.init(file.mapping, 0);
    expectCode(() => mutex.lock({ timeout: -1 }), 'ERR_OUT_OF_RANGE');
    expectCode(() => mutex.lock({ timeout: '1' as never }), 'ERR_INVALID_ARG_TYPE');
    expectCode(() => mutex.lock({ spin: 1.5 }), 'ERR_OUT_OF_RANGE');
    expectCode(() => mutex.lock('x' as never), 'ERR_INVALID_ARG_TYPE');
    await expect(mutex.lockAsync({ signal: 'x' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    const mapping = mapAnonymous(4096);
    const closing = Mutex.init(mapping, 0);
    mapping.close();
    expectCode(() => closing.lock(), 'ERR_SHMKIT_CLOSED');
    expectCode(() => closing.tryLock(), 'ERR_SHMKIT_CLOSED');
    expectCode(() => closing.unlock(), 'ERR_SHMKIT_CLOSED');
    expectCode(() => Mutex.attach(mapping, 0), 'ERR_SHMKIT_CLOSED');
    await expect(closing.lockAsync()).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
    const fd = openSync(file.path, 'r');
    try {
      const readOnly = adoptMapping(native.mapFd(fd, 0, file.size, { readOnly: true }), {
        kind: 'file',
        readOnly: true,
      });
      expectCode(() => Mutex.attach(readOnly, 0), 'ERR_SHMKIT_READ_ONLY');
      readOnly.close();
    } finally {
      closeSync(fd);
    }
  });
});

describe('Mutex across processes', () => {
  it('blocks, times out, aborts and hands over between processes', async () => {
    const file = sharedFile();
    const mutex = Mutex.init(file.mapping, 0);
    const child = holder(file);
    const [, tid] = await waitForLine(child, /locked (\d+)/);
    expect(mutex.owner).toBe(Number(tid));
    expect(mutex.tryLock()).toBeNull();
    expectCode(() => mutex.unlock(), 'EPERM');
    let start = performance.now();
    expectCode(() => mutex.lock({ timeout: 50 }), 'ETIMEDOUT');
    expect(performance.now() - start).toBeGreaterThanOrEqual(49);
    expect(performance.now() - start).toBeLessThan(3000);
    start = performance.now();
    await expect(mutex.lockAsync({ timeout: 50 })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
      syscall: 'mutex_lock',
    });
    expect(performance.now() - start).toBeGreaterThanOrEqual(49);
    expect(performance.now() - start).toBeLessThan(3000);
    const controller = new AbortController();
    const aborted = mutex.lockAsync({ signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    const waiting = mutex.lockAsync({ timeout: 10_000 });
    await sleep(50);
    child.stdin!.write('go\n');
    const guard = await waiting;
    expect(guard.ownerDied).toBe(false);
    expect(mutex.owner).toBe(native.syncGettid());
    guard.unlock();
    await exited(child);
  });

  it('4 processes x 100,000 lock/increment/unlock give an exact total', async () => {
    const file = sharedFile();
    Mutex.init(file.mapping, 0);
    const script = `${childPrelude}
      const mutex = Mutex.attach(mapping, 0);
      const words = mapping.int32Array(0, 2);
      for (let i = 0; i < 100000; i++) {
        mutex.lock();
        words[1] = words[1] + 1;
        mutex.unlock();
      }
      say('done');`;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => runNode(script, { cwd: pkgDir, args: childArgs(file) })),
    );
    for (const r of results) expect(r.stderr + r.stdout).toBe('done\n');
    expect(file.mapping.int32Array(0, 2)[1]).toBe(400_000);
    expect(Mutex.attach(file.mapping, 0).state).toBe('unlocked');
  });

  it('C programs following the documented protocol share the mutex with node', async () => {
    const file = sharedFile();
    Mutex.init(file.mapping, 16);
    const bin = cProgram();
    const script = `${childPrelude}
      const mutex = Mutex.attach(mapping, 16);
      const words = mapping.int32Array(16, 2);
      for (let i = 0; i < 50000; i++) {
        const guard = i % 2 ? mutex.lock() : await mutex.lockAsync();
        words[1] = words[1] + 1;
        guard.unlock();
      }
      say('done');`;
    const { run } = await import('@shmkit/testing');
    const results = await Promise.all([
      runNode(script, { cwd: pkgDir, args: childArgs(file) }),
      runNode(script, { cwd: pkgDir, args: childArgs(file) }),
      run(bin, [file.path, '16', 'count', '50000']),
      run(bin, [file.path, '16', 'count', '50000']),
    ]);
    for (const r of results) expect(r.stderr + r.stdout).toBe('done\n');
    expect(file.mapping.int32Array(16, 2)[1]).toBe(200_000);
  });

  it('kill -9 of the holder: a sync locker in another process gets it within 1 s, owner-died, and recovers', async () => {
    const file = sharedFile();
    const mutex = Mutex.init(file.mapping, 0);
    const victim = holder(file);
    await waitForLine(victim, /locked/);
    const locker = spawnNode(
      `${childPrelude}
      const mutex = Mutex.attach(mapping, 0);
      say('waiting');
      const guard = mutex.lock({ timeout: 20000 });
      say('acquired ' + guard.ownerDied + ' ' + mutex.state);
      guard.markConsistent();
      guard.unlock();
      say('state ' + mutex.state);`,
      { cwd: pkgDir, args: childArgs(file) },
    );
    killAfterTest(locker);
    let output = '';
    locker.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    await waitForLine(locker, /waiting/);
    await sleep(150);
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    await until(() => output.includes('acquired'), 10_000, 'the locker');
    expect(performance.now() - killedAt).toBeLessThan(1000);
    await exited(locker);
    expect(output).toBe('waiting\nacquired true inconsistent\nstate unlocked\n');
    using guard = mutex.lock({ timeout: 5000 });
    expect(guard.ownerDied).toBe(false);
  });

  it('kill -9 of the holder: this process locks it (sync) within 1 s, even before reaping the zombie', async () => {
    const file = sharedFile();
    const mutex = Mutex.init(file.mapping, 0);
    const victim = holder(file);
    await waitForLine(victim, /locked/);
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    // Blocks the event loop: the child stays an unreaped zombie meanwhile.
    const guard = mutex.lock({ timeout: 5000 });
    expect(performance.now() - killedAt).toBeLessThan(1000);
    expect(guard.ownerDied).toBe(true);
    guard.markConsistent();
    guard.unlock();
    expect(mutex.state).toBe('unlocked');
  });

  it('kill -9 of the holder: lockAsync gets it within 1 s; unlocking without markConsistent makes it unrecoverable', async () => {
    const file = sharedFile();
    const mutex = Mutex.init(file.mapping, 0);
    const victim = holder(file);
    await waitForLine(victim, /locked/);
    const pending = mutex.lockAsync({ timeout: 20_000 });
    await sleep(150);
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    const guard = await pending;
    expect(performance.now() - killedAt).toBeLessThan(1000);
    expect(guard.ownerDied).toBe(true);
    expect(mutex.state).toBe('inconsistent');
    expect(mutex.owner).toBe(native.syncGettid());
    guard.unlock();
    expect(mutex.state).toBe('not-recoverable');
    expectCode(() => mutex.lock(), 'ENOTRECOVERABLE');
    expectCode(() => mutex.tryLock(), 'ENOTRECOVERABLE');
    await expect(mutex.lockAsync()).rejects.toMatchObject({ code: 'ENOTRECOVERABLE', errno: -131 });
    const c = await (await import('@shmkit/testing')).run(cProgram(), [file.path, '0', 'lock']);
    expect(c.stdout).toBe('not-recoverable\n');
    Mutex.init(file.mapping, 0).lock().unlock();
  });

  it('a C holder killed with -9 is taken over by node, and the reverse', async () => {
    const file = sharedFile();
    const mutex = Mutex.init(file.mapping, 0);
    const c = spawn(cProgram(), [file.path, '0', 'hold'], { stdio: 'pipe' });
    killAfterTest(c);
    await waitForLine(c, /locked/);
    expect(mutex.tryLock()).toBeNull();
    c.kill('SIGKILL');
    await exited(c);
    const guard = mutex.tryLock();
    expect(guard?.ownerDied).toBe(true);
    guard!.markConsistent();
    guard!.unlock();
    const victim = holder(file);
    await waitForLine(victim, /locked/);
    victim.kill('SIGKILL');
    await exited(victim);
    const after = await (await import('@shmkit/testing')).run(cProgram(), [file.path, '0', 'lock']);
    expect(after.stdout).toBe('owner-died\n');
    expect(mutex.state).toBe('unlocked');
  });

  it('threads of one process are distinct owners', async () => {
    const result = await runNode(
      `import { Worker } from 'node:worker_threads';
      import { Mutex } from '@shmkit/sync';
      const sab = new SharedArrayBuffer(8);
      const mutex = Mutex.init(sab, 0);
      const code = \`
        import { workerData, parentPort } from 'node:worker_threads';
        import { Mutex } from '@shmkit/sync';
        const mutex = Mutex.attach(workerData, 0);
        const words = new Int32Array(workerData);
        let perm = '';
        if (workerData.byteLength && mutex.tryLock() === null) {
          try { mutex.unlock(); } catch (e) { perm = e.code; }
        }
        parentPort.postMessage(perm);
        parentPort.once('message', () => {
          for (let i = 0; i < 50000; i++) { mutex.lock(); words[1]++; mutex.unlock(); }
          parentPort.postMessage('done');
        });\`;
      const guard = mutex.lock();
      const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: sab }));
      const perms = await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
      guard.unlock();
      const done = workers.map((w) => new Promise((r) => w.once('message', r)));
      for (const w of workers) w.postMessage('go');
      await Promise.all(done);
      await Promise.all(workers.map((w) => w.terminate()));
      console.log(perms.join(','), new Int32Array(sab)[1]);`,
      { cwd: pkgDir },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('EPERM,EPERM 100000');
  });
});

// A locker that waits on the word must be woken by a process that unlocks.
describe('Mutex wake-ups', () => {
  it('a sync waiter in another process is woken by unlock, not by its liveness slice', async () => {
    const file = sharedFile();
    const mutex = Mutex.init(file.mapping, 0);
    const guard = mutex.lock();
    const locker = spawnNode(
      `${childPrelude}
      const mutex = Mutex.attach(mapping, 0);
      say('waiting');
      const guard = mutex.lock({ timeout: 20000 });
      say('acquired');
      guard.unlock();`,
      { cwd: pkgDir, args: childArgs(file) },
    );
    killAfterTest(locker);
    await waitForLine(locker, /waiting/);
    await until(() => Atomics.load(file.mapping.int32Array(0, 1), 0) < 0, 10_000, 'WAITERS bit');
    guard.unlock();
    await waitForLine(locker, /acquired/);
  });

  it('lockAsync takes a mutex a live owner released without waking anyone, as lock() does', async () => {
    // The owner stays alive; a peer stores 0 over its word and wakes nobody.
    // (A sync lock() finds it at the end of its next liveness slice.)
    const owner = spawn('sleep', ['30'], { stdio: 'ignore' });
    killAfterTest(owner);
    using mapping = mapAnonymous(4096);
    const mutex = Mutex.init(mapping, 0);
    const word = mapping.int32Array(0, 1);
    Atomics.store(word, 0, owner.pid ?? 0);
    setTimeout(() => Atomics.store(word, 0, 0), 50);
    const start = performance.now();
    const guard = await mutex.lockAsync({ timeout: 10_000 });
    expect(guard.ownerDied).toBe(false);
    expect(performance.now() - start).toBeLessThan(5_000);
    guard.unlock();
    expect(mutex.state).toBe('unlocked');
  });
});
