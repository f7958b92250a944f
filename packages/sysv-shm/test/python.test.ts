// Interop with Python's sysv_ipc (Debian's python3-sysv-ipc, which the
// vitest global setup installs): segments made by either side are found,
// read, written and removed by the other, with the same keys, sizes, modes
// and statistics.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { run, uniqueKey } from '@shmkit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ftok, SysvSegment } from '../src/index';
import { thrown, track } from './helpers';

// Debian's module is installed for Debian's Python, not for one on PATH.
const PYTHON = '/usr/bin/python3';

async function python(script: string, ...args: string[]): Promise<string> {
  const result = await run(PYTHON, ['-c', script, ...args]);
  if (result.code !== 0) throw new Error(`python failed (${result.code}):\n${result.stderr}`);
  return result.stdout;
}

const dir = mkdtempSync(join(tmpdir(), 'shmkit-sysv-python-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Python sysv_ipc interop', () => {
  it('the module is there (python3-sysv-ipc)', async () => {
    expect((await python('import sysv_ipc; print(sysv_ipc.VERSION)')).trim()).toMatch(/^\d+\.\d+/);
  });

  it('opens, reads and writes a segment Python created; Python reads the reply and removes it', async () => {
    const key = uniqueKey();
    const created = await python(
      `import os, sys, sysv_ipc
shm = sysv_ipc.SharedMemory(int(sys.argv[1]), sysv_ipc.IPC_CREX, mode=0o600, size=8192)
shm.write(b'hello from python', 16)
print(shm.id, os.getpid())
shm.detach()`,
      String(key),
    );
    const [id, pythonPid] = created.trim().split(' ').map(Number);
    track(id!);

    const segment = SysvSegment.open({ key });
    expect(segment.id).toBe(id);
    expect(segment.size).toBe(8192);
    const st = segment.stat();
    expect(st.mode).toBe(0o600);
    expect(st.cpid).toBe(pythonPid);
    expect(st.nattch).toBe(0);
    const memory = segment.attach();
    expect(Buffer.from(memory.buffer, 16, 17).toString()).toBe('hello from python');
    Buffer.from(memory.buffer).write('and hello from node', 100);
    memory.detach();

    const seen = await python(
      `import sys, sysv_ipc
shm = sysv_ipc.SharedMemory(int(sys.argv[1]))
print(shm.read(19, 100).decode(), shm.size, oct(shm.mode), shm.number_attached)
shm.detach()
shm.remove()`,
      String(key),
    );
    expect(seen.trim()).toBe('and hello from node 8192 0o600 1');
    // Python removed it: the key and the id are gone for us too.
    expect(thrown(() => SysvSegment.open({ key }))).toMatchObject({ code: 'ENOENT', key });
    expect(thrown(() => SysvSegment.fromId(id!))).toMatchObject({ code: 'EINVAL' });
  });

  it('Python finds a segment we created by the same ftok key, sees our stat and writes live into our mapping', async () => {
    const file = join(dir, 'keyfile');
    writeFileSync(file, '');
    const key = ftok(file, 42);
    const segment = track(SysvSegment.create({ key, size: 4096, mode: 0o640, exclusive: true }));
    const memory = segment.attach();
    const words = memory.int32Array(0, 2);
    Atomics.store(words, 0, 0x01020304);

    const report = await python(
      `import os, struct, sys, sysv_ipc
key = sysv_ipc.ftok(sys.argv[1], 42, silence_warning=True)
shm = sysv_ipc.SharedMemory(key)
print(key, shm.id, shm.size, oct(shm.mode), shm.creator_pid, shm.number_attached, struct.unpack('=i', shm.read(4, 0))[0])
shm.write(struct.pack('=i', 777), 4)
shm.detach()`,
      file,
    );
    const [pyKey, pyId, size, mode, cpid, nattch, first] = report.trim().split(' ');
    expect(Number(pyKey) >>> 0).toBe(key); // sysv_ipc's ftok is C's: the same key
    expect(Number(pyId)).toBe(segment.id);
    expect([Number(size), mode, Number(cpid), Number(nattch)]).toEqual([
      4096,
      '0o640',
      process.pid,
      2, // ours and Python's
    ]);
    expect(Number(first)).toBe(0x01020304);
    // Zero-copy: Python's write is in our view without re-reading anything.
    expect(Atomics.load(words, 1)).toBe(777);
    expect(segment.stat().nattch).toBe(1);
    memory.detach();
    segment.remove();
  });

  it('a segment we remove while Python is attached keeps working for both until each detaches', async () => {
    const key = uniqueKey();
    const segment = track(SysvSegment.create({ key, size: 4096 }));
    const memory = segment.attach();
    const child = spawn(
      PYTHON,
      [
        '-c',
        `import sys, sysv_ipc
shm = sysv_ipc.SharedMemory(int(sys.argv[1]))
print('attached', flush=True)
sys.stdin.readline()
shm.write(b'written after remove', 0)
print(shm.number_attached, flush=True)
shm.detach()`,
        String(key),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('attached');
    segment.remove();
    expect(segment.stat()).toMatchObject({ removed: true, nattch: 2, key: 0 });
    expect(thrown(() => SysvSegment.open({ key }))).toMatchObject({ code: 'ENOENT' });
    child.stdin.end('go\n');
    expect((await lines.next()).value).toBe('2');
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    // Python's write after the removal reached our attachment: the same pages.
    expect(memory.read(0, 20).toString()).toBe('written after remove');
    memory.detach();
    expect(thrown(() => SysvSegment.fromId(segment.id))).toMatchObject({ code: 'EINVAL' });
  });
});
