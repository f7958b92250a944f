// `shmkit limits` against /proc, statfs, ipcs -l and prlimit.
import { spawnSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asNobody, ipcmk, shmkit } from './helpers';

interface LimitsJson {
  shmkit: string;
  schema: number;
  limits: Array<{
    name: string;
    source: string;
    value: number | string | boolean | null;
    unit: string;
    used: number | null;
    meaning: string;
  }>;
}

async function limits(wrapper: string[] = []): Promise<Map<string, LimitsJson['limits'][number]>> {
  const result = await shmkit(['limits', '--json'], { wrapper });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const json = JSON.parse(result.stdout) as LimitsJson;
  expect([json.shmkit, json.schema]).toEqual(['limits', 1]);
  return new Map(json.limits.map((l) => [l.name, l]));
}

const proc = (name: string) => readFileSync(`/proc/sys/kernel/${name}`, 'utf8').trim();
const exact = (text: string) => (Number.isSafeInteger(Number(text)) ? Number(text) : text);

describe('shmkit limits', () => {
  it('reports the kernel limits exactly as /proc has them', async () => {
    ipcmk(['-M', '4096']);
    const all = await limits();
    expect(all.get('SHMMAX')!.value).toEqual(exact(proc('shmmax')));
    expect(all.get('SHMALL')!).toMatchObject({ value: exact(proc('shmall')), unit: 'pages' });
    expect(all.get('SHMMNI')!.value).toBe(Number(proc('shmmni')));
    expect(all.get('SHMMNI')!.used).toBeGreaterThanOrEqual(1);
    const [semmsl, semmns, semopm, semmni] = proc('sem').split(/\s+/).map(Number);
    expect(['SEMMSL', 'SEMMNS', 'SEMOPM', 'SEMMNI'].map((n) => all.get(n)!.value)).toEqual([
      semmsl,
      semmns,
      semopm,
      semmni,
    ]);
    expect(['MSGMAX', 'MSGMNB', 'MSGMNI'].map((n) => all.get(n)!.value)).toEqual(
      ['msgmax', 'msgmnb', 'msgmni'].map((n) => Number(proc(n))),
    );
    const fs = statfsSync('/dev/shm');
    expect(all.get('/dev/shm size')!).toMatchObject({ value: fs.blocks * fs.bsize, unit: 'bytes' });
    for (const limit of all.values()) expect(limit.meaning.length).toBeGreaterThan(20);
  });

  it('agrees with ipcs -l', async () => {
    const all = await limits();
    const ipcs = spawnSync('ipcs', ['-l'], { encoding: 'utf8' }).stdout;
    const number = (label: string) =>
      Number(new RegExp(`${label.replace(/[()]/g, '\\$&')}\\s*=\\s*(\\d+)`).exec(ipcs)?.[1]);
    expect(all.get('SHMMNI')!.value).toBe(number('max number of segments'));
    expect(all.get('SEMMNI')!.value).toBe(number('max number of arrays'));
    expect(all.get('SEMMSL')!.value).toBe(number('max semaphores per array'));
    expect(all.get('SEMMNS')!.value).toBe(number('max semaphores system wide'));
    expect(all.get('SEMOPM')!.value).toBe(number('max ops per semop call'));
    expect(all.get('MSGMNI')!.value).toBe(number('max queues system wide'));
    expect(all.get('MSGMAX')!.value).toBe(number('max size of message (bytes)'));
    expect(all.get('MSGMNB')!.value).toBe(number('default max size of queue (bytes)'));
  });

  it('RLIMIT_MEMLOCK and CAP_IPC_LOCK are those of the process it runs as', async () => {
    const limited = await limits(['prlimit', '--memlock=65536:131072', '--']);
    expect(limited.get('RLIMIT_MEMLOCK')!).toMatchObject({ value: 65536, unit: 'bytes' });
    expect(limited.get('RLIMIT_MEMLOCK')!.meaning).toContain('the hard limit is 128K');
    expect(limited.get('CAP_IPC_LOCK')!.value).toBe(process.getuid?.() === 0);
    const nobody = await limits(asNobody);
    expect(nobody.get('CAP_IPC_LOCK')!.value).toBe(false);
  });

  it('prints a table within 80 columns that names every limit', async () => {
    const result = await shmkit(['limits']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^LIMIT\s+VALUE\s+USED\s+MEANING$/);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    for (const name of [
      'SHMMAX',
      'SHMALL',
      'SHMMNI',
      'SEMMSL',
      'SEMMNS',
      'SEMOPM',
      'SEMMNI',
      'MSGMAX',
      'MSGMNB',
      'MSGMNI',
      '/dev/shm size',
      'RLIMIT_MEMLOCK',
      'CAP_IPC_LOCK',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^${name.replace('/', '\\/')}\\s`, 'm'));
    }
  });
});
