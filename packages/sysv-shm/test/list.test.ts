import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { limits } from '../src/index';
import { parseSysvipcShm } from '../src/list';

describe('parseSysvipcShm', () => {
  it('reads columns by header name, keys as unsigned, perms in octal with dest/locked', () => {
    const text = [
      '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap',
      '        -1         12  3600                  4096   100   101      1     0     0     0     0 1700000000          0 1700000001                  4096                     0',
      '  16909060         13   644                   100   200   200      0 65534 65534     0     0          0          0 1700000002                     0                     0',
      '',
    ].join('\n');
    const [a, b] = parseSysvipcShm(text);
    expect(a).toMatchObject({
      key: 0xffffffff,
      id: 12,
      mode: 0o600,
      removed: true,
      locked: true,
      size: 4096,
      cpid: 100,
      lpid: 101,
      nattch: 1,
      uid: 0,
      owner: 'root',
      rss: 4096,
      swap: 0,
    });
    expect(a!.atime).toEqual(new Date(1_700_000_000_000));
    expect(a!.dtime).toBeNull();
    expect(b).toMatchObject({
      key: 0x01020304,
      mode: 0o644,
      removed: false,
      locked: false,
      uid: 65534,
    });
  });

  it('copes with older kernels without rss/swap columns', () => {
    const text =
      '       key      shmid perms       size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime\n' +
      '         5          1   600         10     1     1      0     0     0     0     0          0          0          1\n';
    const [row] = parseSysvipcShm(text);
    expect(row).toMatchObject({ key: 5, id: 1, size: 10 });
    expect(row).not.toHaveProperty('rss');
    expect(parseSysvipcShm('')).toEqual([]);
  });
});

describe('limits', () => {
  it('reports the kernel values', () => {
    const l = limits();
    const proc = (name: string) => readFileSync(`/proc/sys/kernel/${name}`, 'utf8').trim();
    expect(l.shmmax).toBe(BigInt(proc('shmmax')));
    expect(l.shmall).toBe(BigInt(proc('shmall')));
    expect(l.shmmni).toBe(Number(proc('shmmni')));
    expect(l.shmmin).toBe(1);
    expect(typeof l.rmidForced).toBe('boolean');
  });
});
