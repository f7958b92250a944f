// What needs a process of its own: lockAll (it locks the whole process),
// lowered limits without CAP_IPC_LOCK, GC pressure, worker exit.
import { compileC, runNode, type RunOptions } from '@shmkit/testing';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// vite-node provides __dirname in test modules.
const pkgDir = join(__dirname, '..');

/** Runs an ES module in a new node; it prints one JSON line, which we return. */
async function child<T>(code: string, options: RunOptions = {}): Promise<T> {
  const result = await runNode(code, { cwd: pkgDir, ...options });
  if (result.code !== 0 || result.signal !== null) {
    throw new Error(
      `child failed (${result.code ?? result.signal}):\n${result.stderr}\n${result.stdout}`,
    );
  }
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** Starts node with RLIMIT_MEMLOCK set to `bytes` and CAP_IPC_LOCK dropped. */
function limited(bytes: number): string[] {
  return [
    'prlimit',
    `--memlock=${bytes}:${bytes}`,
    '--',
    'setpriv',
    '--inh-caps=-ipc_lock',
    '--bounding-set=-ipc_lock',
    '--',
  ];
}

// Prints the error a call throws as JSON, so the test can check every field.
const CATCH = `
function caught(f) {
  try { f(); return null; } catch (e) {
    return { code: e.code, errno: e.errno, syscall: e.syscall, hint: e.hint, message: e.message };
  }
}`;

describe('lockAll / unlockAll (in a child: they affect the whole process)', () => {
  it('change VmLck; future locks new mappings; unlockAll ends range locks', async () => {
    const r = await child<Record<string, number | boolean>>(`
      import { mapAnonymous } from '@shmkit/core';
      import { lock, lockAll, unlockAll, lockedBytes } from '@shmkit/mlock';
      import { readFileSync } from 'node:fs';
      const vmSize = () => Number(/VmSize:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const before = lockedBytes();
      const ranged = lock(mapAnonymous(1 << 20));
      const withRange = lockedBytes();
      lockAll({ current: true, onFault: true });
      const all = lockedBytes();
      const size = vmSize();
      const late = mapAnonymous(1 << 20);
      const afterLateMap = lockedBytes();
      unlockAll();
      const afterUnlock = lockedBytes();
      const rangedLive = ranged.locked;
      lockAll({ current: false, future: true, onFault: true });
      const futureOnly = lockedBytes();
      const late2 = mapAnonymous(1 << 20);
      const afterFutureMap = lockedBytes();
      unlockAll();
      lockAll();
      const plain = lockedBytes();
      unlockAll();
      console.log(JSON.stringify({ before, withRange, all, size, afterLateMap, afterUnlock, rangedLive,
        futureOnly, afterFutureMap, plain, end: lockedBytes() }));
    `);
    expect(r.withRange).toBe((r.before as number) + (1 << 20));
    // MCL_CURRENT locks every mapping; VmLck counts (nearly) all of VmSize.
    expect(r.all).toBeGreaterThan((r.size as number) / 2);
    expect(r.all).toBeGreaterThan(64 << 20);
    // Without MCL_FUTURE a new mapping is not locked.
    expect(r.afterLateMap).toBeLessThan((r.all as number) + (1 << 20));
    expect(r.afterUnlock).toBe(0);
    expect(r.rangedLive).toBe(false);
    // MCL_FUTURE alone locks nothing now, and each new mapping as it comes.
    expect(r.futureOnly).toBe(0);
    expect(r.afterFutureMap).toBeGreaterThanOrEqual(1 << 20);
    expect(r.plain).toBeGreaterThan(64 << 20);
    expect(r.end).toBe(0);
  });

  it('lockAll over the limit is ENOMEM with a hint', async () => {
    const r = await child<{ limits: object; error: Record<string, unknown> }>(
      `${CATCH}
      import { lockAll, limits } from '@shmkit/mlock';
      console.log(JSON.stringify({ limits: limits(), error: caught(() => lockAll({ current: true })) }));
    `,
      { wrapper: limited(65536) },
    );
    expect(r.limits).toEqual({ soft: 65536, hard: 65536, privileged: false });
    expect(r.error).toMatchObject({ code: 'ENOMEM', errno: -12, syscall: 'mlockall' });
    expect(r.error.hint).toMatch(
      /RLIMIT_MEMLOCK is 65536 bytes .*VmSize.*ulimit -l.*CAP_IPC_LOCK.*lock less/,
    );
  });
});

describe('over RLIMIT_MEMLOCK without CAP_IPC_LOCK', () => {
  it('a lock over the limit is ENOMEM and the hint says the limit, the request and what to do', async () => {
    const r = await child<Record<string, unknown>>(
      `${CATCH}
      import { mapAnonymous, pageSize } from '@shmkit/core';
      import { lock, limits, canLock, lockedBytes } from '@shmkit/mlock';
      import { readFileSync } from 'node:fs';
      const capEff = /CapEff:\\s+(\\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1];
      const big = mapAnonymous(1 << 20);
      const out = { capEff, limits: limits(), before: lockedBytes(),
        canSmall: canLock(16384), canBig: canLock(1 << 20) };
      out.big = caught(() => lock(big));
      out.bigOnFault = caught(() => lock(big, { onFault: true }));
      const small = lock(big, { length: 4 * pageSize() });
      out.small = lockedBytes();
      out.canRest = canLock(65536 - 4 * pageSize());
      out.canMore = canLock(65536 - 4 * pageSize() + 1);
      out.second = caught(() => lock(big, { offset: 4 * pageSize(), length: 16 * pageSize() }));
      small.unlock();
      out.end = lockedBytes();
      console.log(JSON.stringify(out));
    `,
      { wrapper: limited(65536) },
    );
    // The wrapper really dropped the capability (bit 14).
    expect(BigInt(`0x${r.capEff as string}`) & (1n << 14n)).toBe(0n);
    expect(r.limits).toEqual({ soft: 65536, hard: 65536, privileged: false });
    expect(r.before).toBe(0);
    expect([r.canSmall, r.canBig]).toEqual([true, false]);
    expect(r.big).toMatchObject({ code: 'ENOMEM', errno: -12, syscall: 'mlock' });
    const hint = (r.big as { hint: string }).hint;
    expect(hint).toContain('RLIMIT_MEMLOCK is 65536 bytes (64 KiB)');
    expect(hint).toContain('needs 1048576 bytes (1 MiB)');
    expect(hint).toContain('0 bytes are locked already');
    expect(hint).toMatch(/ulimit -l.*CAP_IPC_LOCK.*lock less/);
    expect((r.big as { message: string }).message).toContain(hint);
    expect(r.bigOnFault).toMatchObject({ code: 'ENOMEM', syscall: 'mlock2' });
    expect(r.small).toBe(16384);
    expect([r.canRest, r.canMore]).toEqual([true, false]);
    expect(r.second).toMatchObject({ code: 'ENOMEM' });
    expect((r.second as { hint: string }).hint).toContain(
      '16384 bytes (16 KiB) are locked already',
    );
    expect(r.end).toBe(0);
  });

  it('with RLIMIT_MEMLOCK 0 any lock is EPERM with a hint', async () => {
    const r = await child<Record<string, unknown>>(
      `${CATCH}
      import { lock, canLock, limits } from '@shmkit/mlock';
      console.log(JSON.stringify({ limits: limits(), can: canLock(1), error: caught(() => lock(Buffer.alloc(64))) }));
    `,
      { wrapper: limited(0) },
    );
    expect(r.limits).toEqual({ soft: 0, hard: 0, privileged: false });
    expect(r.can).toBe(false);
    expect(r.error).toMatchObject({ code: 'EPERM', errno: -1, syscall: 'mlock' });
    expect((r.error as { hint: string }).hint).toMatch(
      /RLIMIT_MEMLOCK is 0 .*CAP_IPC_LOCK.*ulimit -l/,
    );
  });
});

describe('buffers and the garbage collector', () => {
  it('a locked Buffer dropped by its user survives GC pressure with its lock', async () => {
    const r = await child<Record<string, unknown>>(
      `
      import { lock, unlock, lockedBytes } from '@shmkit/mlock';
      const before = lockedBytes();
      let weak;
      (() => {
        const buf = Buffer.alloc(256 * 1024, 7);
        weak = new WeakRef(buf.buffer);
        lock(buf); // the MemoryLock is dropped too: only the module holds it
      })();
      for (let round = 0; round < 10; round++) {
        const junk = [];
        for (let i = 0; i < 100; i++) junk.push(Buffer.alloc(64 * 1024, round));
        globalThis.gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const ab = weak.deref();
      const out = { alive: ab !== undefined, locked: lockedBytes() - before };
      out.intact = out.alive && new Uint8Array(ab).every((v) => v === 7);
      out.ended = unlock(ab);
      out.after = lockedBytes() - before;
      console.log(JSON.stringify(out));
    `,
      { nodeArgs: ['--expose-gc'] },
    );
    expect(r.alive).toBe(true);
    expect(r.intact).toBe(true);
    expect(r.locked).toBeGreaterThanOrEqual(256 * 1024);
    expect(r.locked).toBeLessThanOrEqual(256 * 1024 + 4096 * 2);
    expect(r.ended).toBe(1);
    expect(r.after).toBe(0);
  });

  it('an unlocked Buffer is collected, and collection leaves no lock and no crash', async () => {
    const r = await child<Record<string, unknown>>(
      `
      import { lock, lockedBytes } from '@shmkit/mlock';
      const before = lockedBytes();
      const weaks = [];
      // A function scope, so that no binding of the loop outlives it.
      function lockSome() {
        const locks = [];
        for (let i = 0; i < 50; i++) {
          const buf = Buffer.alloc(64 * 1024, i);
          weaks.push(new WeakRef(buf));
          locks.push(lock(buf, { onFault: i % 2 === 0 }));
        }
        const during = lockedBytes() - before;
        for (const l of locks) l.unlock();
        return during;
      }
      const during = lockSome();
      for (let round = 0; round < 10; round++) {
        globalThis.gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Heap churn after the buffers are gone: freed memory reused by new ones.
      for (let i = 0; i < 200; i++) Buffer.alloc(64 * 1024, 1);
      globalThis.gc();
      console.log(JSON.stringify({ during, collected: weaks.filter((w) => w.deref() === undefined).length,
        after: lockedBytes() - before }));
    `,
      { nodeArgs: ['--expose-gc'] },
    );
    expect(r.during).toBeGreaterThanOrEqual(50 * 64 * 1024);
    expect(r.collected).toBe(50);
    expect(r.after).toBe(0);
  });

  it('a worker that exits with Buffers locked leaves no lock behind', async () => {
    const r = await child<Record<string, number>>(`
      import { Worker } from 'node:worker_threads';
      import { lockedBytes } from '@shmkit/mlock';
      const before = lockedBytes();
      const worker = new Worker(\`
        import { lock, lockedBytes } from '@shmkit/mlock';
        import { parentPort } from 'node:worker_threads';
        globalThis.held = [lock(Buffer.alloc(1 << 20, 1)), lock(new Float64Array(4096), { onFault: true })];
        parentPort.postMessage(lockedBytes());
      \`, { eval: true });
      const inWorker = await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => worker.once('exit', resolve));
      console.log(JSON.stringify({ inWorker: inWorker - before, after: lockedBytes() - before }));
    `);
    expect(r.inWorker).toBeGreaterThanOrEqual((1 << 20) + 4096 * 8);
    expect(r.after).toBe(0);
  });
});

// Installs a seccomp filter, then runs the program as if on a kernel older
// than 4.4: mlock2 is ENOSYS and mlockall refuses MCL_ONFAULT with EINVAL.
const OLD_KERNEL_C = String.raw`
// Runs a program as if on a kernel older than 4.4: mlock2 is ENOSYS and
// mlockall rejects MCL_ONFAULT with EINVAL (a seccomp filter says so).
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MCL_ONFAULT_FLAG 4
#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#else
#error "add this architecture's AUDIT_ARCH_* here"
#endif

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mlock2, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mlockall, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MCL_ONFAULT_FLAG, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("prctl"); return 1; }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) { perror("seccomp"); return 1; }
  execvp(argv[1], argv + 1);
  perror("execvp");
  return 127;
}
`;

describe('onFault on a kernel older than 4.4 (simulated with seccomp)', () => {
  it('mlock2 is ENOSYS and MCL_ONFAULT is EINVAL, each with a hint; plain locks still work', async () => {
    const oldKernel = compileC(OLD_KERNEL_C);
    const r = await child<Record<string, unknown>>(
      `${CATCH}
      import { mapAnonymous } from '@shmkit/core';
      import { lock, lockAll, unlockAll, lockedBytes } from '@shmkit/mlock';
      const mapping = mapAnonymous(65536);
      const out = { lock: caught(() => lock(mapping, { onFault: true })),
        lockAll: caught(() => lockAll({ current: true, onFault: true })) };
      const plain = lock(mapping);
      out.plain = lockedBytes();
      plain.unlock();
      lockAll({ current: true });
      out.all = lockedBytes() > 65536;
      unlockAll();
      console.log(JSON.stringify(out));
    `,
      { wrapper: [oldKernel] },
    );
    expect(r.lock).toMatchObject({ code: 'ENOSYS', errno: -38, syscall: 'mlock2' });
    expect((r.lock as { hint: string }).hint).toMatch(/Linux 4\.4.*without onFault/);
    expect(r.lockAll).toMatchObject({ code: 'EINVAL', errno: -22, syscall: 'mlockall' });
    expect((r.lockAll as { message: string }).message).toContain('MCL_CURRENT|MCL_ONFAULT');
    expect((r.lockAll as { hint: string }).hint).toMatch(
      /MCL_ONFAULT \(Linux 4\.4\+\).*without onFault/,
    );
    expect(r.plain).toBe(65536);
    expect(r.all).toBe(true);
  });
});
