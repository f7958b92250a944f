// `removeOnExit` with real processes: node children create segments, then
// exit or are killed; this process looks for them in /proc/sysvipc/shm.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { runNode, spawnNode, uniqueKey, waitForLine } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { listSegments, SysvSegment } from '../src/index';
import { pkgDir, thrown, track } from './helpers';

function present(id: number): boolean {
  return listSegments().some((segment) => segment.id === id);
}

async function exited(proc: ChildProcess): Promise<[number | null, string | null]> {
  if (proc.exitCode !== null || proc.signalCode !== null) return [proc.exitCode, proc.signalCode];
  return (await once(proc, 'exit')) as [number | null, string | null];
}

describe('SysvSegment.create({ removeOnExit })', () => {
  it('true: removed when the process exits', async () => {
    const key = uniqueKey();
    const result = await runNode(
      `import { SysvSegment } from '@shmkit/sysv-shm';
       const segment = SysvSegment.create({ key: ${key}, size: 4096, exclusive: true, removeOnExit: true });
       console.log(segment.id);`,
      { cwd: pkgDir },
    );
    expect(result.stderr).toBe('');
    const id = track(Number(result.stdout));
    expect(present(id)).toBe(false);
    expect(() => SysvSegment.open({ key })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    "'signals': %s removes the segment, then the process dies of it",
    async (signal) => {
      const key = uniqueKey();
      const proc = spawnNode(
        `import { SysvSegment } from '@shmkit/sysv-shm';
         const segment = SysvSegment.create({ key: ${key}, size: 4096, removeOnExit: 'signals' });
         segment.attach();
         console.log('ready', segment.id);
         setInterval(() => {}, 1000);`,
        { cwd: pkgDir },
      );
      const [, idText] = (await waitForLine(proc, /ready (\d+)/)) as unknown as [string, string];
      const id = track(Number(idText));
      expect(present(id)).toBe(true);
      proc.kill(signal);
      expect(await exited(proc)).toEqual([null, signal]);
      expect(present(id)).toBe(false);
    },
  );

  it('never removes a segment the call only opened', async () => {
    const key = uniqueKey();
    const mine = track(SysvSegment.create({ key, size: 4096, exclusive: true }));
    const result = await runNode(
      `import { SysvSegment } from '@shmkit/sysv-shm';
       const segment = SysvSegment.create({ key: ${key}, size: 4096, removeOnExit: 'signals' });
       console.log(segment.created, segment.id, process.listenerCount('SIGINT'));`,
      { cwd: pkgDir },
    );
    expect(result.stdout).toBe(`false ${mine.id} 0\n`);
    expect(present(mine.id)).toBe(true);
  });

  it('remove() cancels the removal and its handlers', async () => {
    const result = await runNode(
      `import { SysvSegment } from '@shmkit/sysv-shm';
       const segment = SysvSegment.create({ size: 4096, removeOnExit: 'signals' });
       const before = process.listenerCount('SIGHUP');
       segment.remove();
       console.log(before, process.listenerCount('SIGHUP'));`,
      { cwd: pkgDir },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1 0\n');
  });

  it('rejects a bad removeOnExit with ERR_INVALID_ARG_VALUE before shmget', () => {
    const key = uniqueKey();
    const error = thrown(() =>
      SysvSegment.create({ key, size: 4096, removeOnExit: 'always' as never }),
    );
    expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(() => SysvSegment.open({ key })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('EEXIST hint', () => {
  it('names the key for shmkit rm', () => {
    const key = uniqueKey();
    track(SysvSegment.create({ key, size: 4096, exclusive: true }));
    const error = thrown(() => SysvSegment.create({ key, size: 4096, exclusive: true }));
    const hex = `0x${key.toString(16).padStart(8, '0')}`;
    expect(error).toMatchObject({ code: 'EEXIST', syscall: 'shmget', key });
    expect(error.hint).toContain(`npx @shmkit/cli rm --type sysv-shm ${hex}`);
    expect(error.message).toContain('`npx @shmkit/cli ls` lists it');
  });
});
