// System V semaphore sets shared with Python's sysv_ipc (Debian's
// python3-sysv-ipc, installed by the vitest global setup): a set made by
// either side is waited on and posted by the other.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { run, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { SysvSemaphoreSet } from '../src/index';

const PYTHON = '/usr/bin/python3';

async function python(script: string, ...args: string[]): Promise<string> {
  const result = await run(PYTHON, ['-c', script, ...args]);
  if (result.code !== 0) throw new Error(`python failed (${result.code}):\n${result.stderr}`);
  return result.stdout;
}

describe('SysvSemaphoreSet and Python sysv_ipc', () => {
  it('takes units from a semaphore Python created, and Python sees what is left', async () => {
    const key = uniqueKey();
    await python(
      `import sys, sysv_ipc
sysv_ipc.Semaphore(int(sys.argv[1]), sysv_ipc.IPC_CREX, mode=0o600, initial_value=3)`,
      String(key),
    );
    const set = SysvSemaphoreSet.open({ key });
    try {
      expect(set.count).toBe(1);
      expect(set.get(0)).toBe(3);
      expect(set.wait(0, { count: 2, timeout: 1000 })).toBe(true);
      const seen = await python(
        `import sys, sysv_ipc
s = sysv_ipc.Semaphore(int(sys.argv[1]))
print(s.value, oct(s.mode))`,
        String(key),
      );
      expect(seen.trim()).toBe('1 0o600');
    } finally {
      set.remove();
    }
  });

  it('a waitAsync here is released by a release() in Python, and the reverse', async () => {
    const set = SysvSemaphoreSet.create({
      key: uniqueKey(),
      count: 1,
      mode: 0o600,
      exclusive: true,
    });
    try {
      const child = spawn(
        PYTHON,
        [
          '-c',
          `import sys, sysv_ipc
s = sysv_ipc.Semaphore(int(sys.argv[1]))
print('ready', flush=True)
sys.stdin.readline()
s.release()
s.acquire(5)  # waits for our post
print('acquired', s.value, flush=True)`,
          String(set.id === 0 ? 0 : set.stat().key >>> 0),
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      expect((await lines.next()).value).toBe('ready');
      const waiting = set.waitAsync(0, { timeout: 10_000 });
      child.stdin.write('go\n');
      expect(await waiting).toBe(true);
      set.post(0);
      expect((await lines.next()).value).toBe('acquired 0');
      const [code] = (await once(child, 'close')) as [number | null];
      expect(code).toBe(0);
      expect(set.lastPid(0)).toBe(child.pid);
    } finally {
      set.remove();
    }
  });
});
