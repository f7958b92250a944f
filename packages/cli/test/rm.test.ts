// `shmkit rm`: what it refuses (in use, not ours), what --force, --any-owner
// and --dry-run change, and --stale with creators that are dead or alive.
// --stale runs are always narrowed with --name to this test's objects:
// other programs on the machine have stale objects of their own.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { compileC, runNode, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import {
  HOLDER_C,
  asNobody,
  exited,
  ipcmk,
  keep,
  later,
  pkgDir,
  posixName,
  python,
  removeLater,
  shmkit,
  started,
  sysvipc,
} from './helpers';

const hex = (key: number) => `0x${key.toString(16).padStart(8, '0')}`;
const segmentExists = (id: number) => sysvipc('shm').some((row) => Number(row.shmid) === id);
const setExists = (id: number) => sysvipc('sem').some((row) => Number(row.semid) === id);

/** A file in /dev/shm owned by nobody: an object another user made. */
function nobodysObject(name: string): void {
  const made = spawnSync(asNobody[0]!, [
    ...asNobody.slice(1),
    'sh',
    '-c',
    `umask 077; echo data > /dev/shm${name}`,
  ]);
  expect(made.status).toBe(0);
}

describe('shmkit rm refuses', () => {
  it('a POSIX object a live C program maps, until --force', async () => {
    const name = posixName();
    const sem = posixName();
    const holder = keep(
      spawn(compileC(HOLDER_C, ['-pthread']), [name, '4096', sem, hex(uniqueKey())]),
    );
    const [, pid, seg] = await started(holder);
    removeLater('shm', Number(seg));

    const refused = await shmkit(['rm', name, sem]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.split('\n').filter((l) => l.startsWith('shmkit: rm:'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^shmkit: rm: refusing to remove posix-shm ${name}: mapped or open by pid ${pid} \\(prog-\\w+\\) \\(--force removes it anyway\\)$`,
        ),
      ),
      expect.stringContaining(`refusing to remove posix-sem ${sem}: mapped or open by pid ${pid}`),
    ]);
    expect(existsSync(`/dev/shm${name}`)).toBe(true);

    const dry = await shmkit(['rm', '--force', '--dry-run', name]);
    expect(dry).toMatchObject({ code: 0, stdout: `would remove posix-shm ${name}\n` });
    expect(existsSync(`/dev/shm${name}`)).toBe(true);

    const forced = await shmkit(['rm', '--force', name, '--type', 'posix-shm']);
    expect(forced).toMatchObject({ code: 0, stdout: `removed posix-shm ${name}\n` });
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it('a System V segment with attachments; removes it once detached', async () => {
    const py = python(
      `import sysv_ipc, sys\nseg = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096)\nprint('ready', seg.id, flush=True)\nsys.stdin.readline()\nseg.detach()\nprint('ready', seg.id, flush=True)\nsys.stdin.read()`,
    );
    const [, idText] = await started(py, /ready (\d+)/);
    const id = removeLater('shm', Number(idText));
    const refused = await shmkit(['rm', String(id)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `refusing to remove sysv-shm 0x[0-9a-f]{8} \\(id ${id}\\): attached 1 time \\(pid ${py.pid} \\(python3\\)\\) \\(--force removes it anyway\\)`,
      ),
    );
    expect(segmentExists(id)).toBe(true);

    py.stdin!.write('detach\n');
    await started(py, /ready (\d+)/);
    const removed = await shmkit(['rm', String(id)]);
    expect(removed).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        new RegExp(`^removed sysv-shm 0x[0-9a-f]{8} \\(id ${id}\\)\n$`),
      ),
    });
    expect(segmentExists(id)).toBe(false);
  });

  it('a semaphore set a process waits on', async () => {
    const key = uniqueKey();
    const py = python(
      `import sysv_ipc\nsem = sysv_ipc.Semaphore(${key}, sysv_ipc.IPC_CREX, initial_value=0)\nprint('ready', sem.id, flush=True)\nsem.acquire()`,
    );
    const [, idText] = await started(py, /ready (\d+)/);
    const id = removeLater('sem', Number(idText));
    // The acquire has to reach the kernel: poll until rm sees the waiter.
    let refused;
    for (let i = 0; i < 100; i++) {
      refused = await shmkit(['rm', hex(key), '--type', 'sysv-sem']);
      if (refused.stderr.includes('waiting')) break;
    }
    expect(refused!.code).toBe(1);
    expect(refused!.stderr).toContain(
      `refusing to remove sysv-sem ${hex(key)} (id ${id}): 1 process waiting on it`,
    );
    expect(setExists(id)).toBe(true);
    const forced = await shmkit(['rm', '--force', hex(key), '--type', 'sysv-sem']);
    expect(forced.code).toBe(0);
    await exited(py); // its acquire failed with EIDRM
    expect(setExists(id)).toBe(false);
  });

  it('a message queue whose last sender is alive; afterwards msgctl(IPC_RMID), which fails as another user', async () => {
    const key = uniqueKey();
    const py = python(
      `import sysv_ipc, sys\nq = sysv_ipc.MessageQueue(${key}, sysv_ipc.IPC_CREX, 0o644)\nq.send(b'x')\nprint('ready', q.id, flush=True)\nsys.stdin.read()`,
    );
    const [, idText] = await started(py, /ready (\d+)/);
    const id = removeLater('msg', Number(idText));
    const refused = await shmkit(['rm', hex(key)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `refusing to remove sysv-msg ${hex(key)} (id ${id}): last sent to or received from by live pid ${py.pid}`,
    );
    py.kill('SIGKILL');
    await exited(py);
    const queueExists = () => sysvipc('msg').some((row) => Number(row.msqid) === id);
    // Another user who insists: the kernel says no, and rm says which call.
    const denied = await shmkit(['rm', '--any-owner', hex(key)], { wrapper: asNobody });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe(
      `shmkit: rm: sysv-msg ${hex(key)} (id ${id}): EPERM: operation not permitted, msgctl id ${id} (only the queue's owner, its creator or a process with CAP_SYS_ADMIN may do this)\n`,
    );
    expect(queueExists()).toBe(true);
    const removed = await shmkit(['rm', hex(key)]);
    expect(removed).toMatchObject({ code: 0, stdout: `removed sysv-msg ${hex(key)} (id ${id})\n` });
    expect(queueExists()).toBe(false);
  });

  it('a FIFO held open, and anything at a path that is no FIFO', async () => {
    const path = `/tmp/${posixName().slice(1)}.fifo`;
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    later(() => spawnSync('rm', ['-f', path]));
    const holder = keep(spawn('sh', ['-c', `exec 3<>${path}; echo ready $$; exec sleep 60`]));
    const [, pid] = await started(holder);
    const refused = await shmkit(['rm', path]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`refusing to remove fifo ${path}: open by pid ${pid} (sleep)`);
    holder.kill('SIGKILL');
    await exited(holder);
    expect(await shmkit(['rm', path])).toMatchObject({ code: 0, stdout: `removed fifo ${path}\n` });
    expect(existsSync(path)).toBe(false);

    const file = `/tmp/${posixName().slice(1)}.txt`;
    writeFileSync(file, 'keep me');
    later(() => spawnSync('rm', ['-f', file]));
    const notFifo = await shmkit(['rm', file]);
    expect(notFifo.code).toBe(1);
    expect(notFifo.stderr).toBe(
      `shmkit: rm: ${file} is not a FIFO: shmkit only inspects and removes FIFOs by path\n`,
    );
    expect(existsSync(file)).toBe(true);
  });

  it("another user's object, unless --any-owner", async () => {
    const name = posixName();
    nobodysObject(name);
    const refused = await shmkit(['rm', name]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `refusing to remove posix-shm ${name}: it belongs to nobody, not to this user (--any-owner removes it)`,
    );
    expect(existsSync(`/dev/shm${name}`)).toBe(true);
    expect(await shmkit(['rm', '--any-owner', name])).toMatchObject({
      code: 0,
      stdout: `removed posix-shm ${name}\n`,
    });
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it('what the kernel forbids: an unprivileged user gets one line with the call and the object', async () => {
    const name = posixName();
    writeFileSync(`/dev/shm${name}`, 'root owns this', { mode: 0o666 });
    const segment = ipcmk(['-M', '4096', '-p', '0666']);
    const refused = await shmkit(['rm', name], { wrapper: asNobody });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`refusing to remove posix-shm ${name}: it belongs to root`);
    const denied = await shmkit(['rm', '--any-owner', name, String(segment)], {
      wrapper: asNobody,
    });
    expect(denied.code).toBe(1);
    const lines = denied.stderr.split('\n').filter((l) => l.startsWith('shmkit: rm:'));
    expect(lines).toEqual([
      // glibc's shm_unlink reports the sticky /dev/shm's EPERM as EACCES.
      `shmkit: rm: posix-shm ${name}: EACCES: permission denied, shm_unlink '${name}'`,
      expect.stringMatching(
        new RegExp(
          `^shmkit: rm: sysv-shm 0x[0-9a-f]{8} \\(id ${segment}\\): EPERM: operation not permitted, shmctl id ${segment} \\(only the owner`,
        ),
      ),
    ]);
    expect(existsSync(`/dev/shm${name}`)).toBe(true);
    expect(segmentExists(segment)).toBe(true);
  });

  it('nothing at all when one target is ambiguous, and the rest when one is missing', async () => {
    const a = posixName();
    writeFileSync(`/dev/shm${a}`, 'a');
    // A shared memory object and a named semaphore with the same name.
    const both = posixName();
    writeFileSync(`/dev/shm${both}`, 'x');
    writeFileSync(`/dev/shm/sem.${both.slice(1)}`, Buffer.alloc(32));
    const ambiguous = await shmkit(['rm', a, both]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain(
      `'${both}' could be posix-shm ${both} or posix-sem ${both}: add --type posix-shm|posix-sem`,
    );
    expect(existsSync(`/dev/shm${a}`)).toBe(true);

    const missing = await shmkit(['rm', '/shmkit-cli-not-there', a]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe(`removed posix-shm ${a}\n`);
    expect(missing.stderr).toContain('is named /shmkit-cli-not-there');
  });
});

describe('shmkit rm --stale', () => {
  it('removes System V segments whose creator is dead and nothing attaches, and keeps the others', async () => {
    const [deadKey, aliveKey, attachedKey] = [uniqueKey(), uniqueKey(), uniqueKey()];
    const made = await runNode(
      `import { SysvSegment } from '@shmkit/sysv-shm';
       console.log(SysvSegment.create({ key: ${deadKey}, size: 4096 }).id);`,
      { cwd: pkgDir },
    );
    const dead = removeLater('shm', Number(made.stdout));
    const alive = keep(
      spawn(
        process.execPath,
        [
          '-e',
          `const { SysvSegment } = require('@shmkit/sysv-shm'); console.log('ready', SysvSegment.create({ key: ${aliveKey}, size: 4096 }).id); setInterval(() => {}, 1000);`,
        ],
        { cwd: pkgDir },
      ),
    );
    const [, aliveId] = await started(alive);
    removeLater('shm', Number(aliveId));
    // Its creator is gone, but a reader still attaches it.
    const py = python(
      `import sysv_ipc, sys\nseg = sysv_ipc.SharedMemory(${attachedKey}, sysv_ipc.IPC_CREX, size=4096)\nprint('ready', seg.id, flush=True)\nsys.stdin.read()`,
    );
    const [, pyId] = await started(py, /ready (\d+)/);
    const attachedId = removeLater('shm', Number(pyId));
    const ipcmkSegment = ipcmk(['-M', '4096']); // ipcmk exits at once: its segment is stale
    const ipcmkKey = sysvipc('shm').find((r) => Number(r.shmid) === ipcmkSegment)!.key!;

    const names = [deadKey, aliveKey, attachedKey].map(hex).concat(hex(Number(ipcmkKey) >>> 0));
    const only = names.flatMap((n) => ['--name', n]);
    const dry = await shmkit(['rm', '--stale', '--type', 'sysv-shm', '--dry-run', ...only]);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        `would remove sysv-shm ${hex(deadKey)} (id ${dead})`,
        `would remove sysv-shm ${names[3]} (id ${ipcmkSegment})`,
      ].sort(),
    );
    expect(segmentExists(dead)).toBe(true);

    const removed = await shmkit(['rm', '--stale', '--type', 'sysv-shm', ...only]);
    expect(removed.code).toBe(0);
    expect(removed.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(segmentExists(dead)).toBe(false);
    expect(segmentExists(ipcmkSegment)).toBe(false);
    expect(segmentExists(Number(aliveId))).toBe(true);
    expect(segmentExists(attachedId)).toBe(true);
  });

  it('removes semaphore sets whose last user is dead, and keeps one a live process uses', async () => {
    const [deadKey, liveKey] = [uniqueKey(), uniqueKey()];
    const gone = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `import sysv_ipc\ns = sysv_ipc.Semaphore(${deadKey}, sysv_ipc.IPC_CREX, initial_value=1)\nprint(s.id)`,
      ],
      { encoding: 'utf8' },
    );
    const deadId = removeLater('sem', Number(gone.stdout));
    const py = python(
      `import sysv_ipc, sys\ns = sysv_ipc.Semaphore(${liveKey}, sysv_ipc.IPC_CREX, initial_value=1)\nprint('ready', s.id, flush=True)\nsys.stdin.read()`,
    );
    const [, liveId] = await started(py, /ready (\d+)/);
    removeLater('sem', Number(liveId));
    const result = await shmkit([
      'rm',
      '--stale',
      '--type',
      'sysv-sem',
      '--name',
      hex(deadKey),
      '--name',
      hex(liveKey),
    ]);
    expect(result).toMatchObject({
      code: 0,
      stdout: `removed sysv-sem ${hex(deadKey)} (id ${deadId})\n`,
    });
    expect(setExists(deadId)).toBe(false);
    expect(setExists(Number(liveId))).toBe(true);
  });

  it('as an unprivileged user: removes its unused POSIX objects, keeps one it maps, and never touches root’s', async () => {
    const [unused, mapped, roots] = [posixName(), posixName(), posixName()];
    nobodysObject(unused);
    writeFileSync(`/dev/shm${roots}`, 'root');
    const holder = keep(
      spawn(
        asNobody[0]!,
        [
          ...asNobody.slice(1),
          process.execPath,
          '-e',
          `const { PosixShm } = require('@shmkit/posix-shm'); const s = PosixShm.create(${JSON.stringify(mapped)}, { size: 4096 }); s.map(); console.log('ready', process.pid); setInterval(() => {}, 1000);`,
        ],
        { cwd: pkgDir },
      ),
    );
    await started(holder);
    const only = [unused, mapped, roots].flatMap((n) => ['--name', n]);
    const result = await shmkit(['rm', '--stale', ...only], { wrapper: asNobody });
    expect(result).toMatchObject({ code: 0, stdout: `removed posix-shm ${unused}\n` });
    expect(existsSync(`/dev/shm${unused}`)).toBe(false);
    expect(existsSync(`/dev/shm${mapped}`)).toBe(true);
    expect(existsSync(`/dev/shm${roots}`)).toBe(true);
  });
});
