import { run, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { formatKey, ftok, listSegments, SysvSegment } from '../src/index';
import { cTool } from './c-tool';
import { thrown, track } from './helpers';

async function c(...args: string[]): Promise<string> {
  const result = await run(cTool(), args);
  if (result.code !== 0)
    throw new Error(`c tool ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function ipcs(...args: string[]): Promise<string> {
  const result = await run('ipcs', args, { env: { TZ: 'UTC', LC_ALL: 'C' } });
  if (result.code !== 0) throw new Error(`ipcs ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

describe('interop with C programs', () => {
  it('reads what a C program created and wrote', async () => {
    const key = uniqueKey();
    const id = Number(await c('create', String(key), '4096', 'Hello from C'));
    track(id);
    const seg = SysvSegment.open({ key });
    expect(seg.id).toBe(id);
    expect(seg.size).toBe(4096);
    const m = seg.attach({ readOnly: true });
    expect(m.read(0, 4).readInt32LE(0)).toBe(1);
    expect(m.read(8, 12).toString()).toBe('Hello from C');
    expect(seg.stat().cpid).not.toBe(process.pid);
    m.detach();
  });

  it('a C program reads what we wrote', async () => {
    const seg = track(SysvSegment.create({ size: 4096 }));
    const m = seg.attach();
    Buffer.from(m.buffer).write('written by node', 100);
    expect(await c('read', String(seg.id), '100', '15')).toBe('written by node');
    m.detach();
  });

  it("C's IPC_STAT agrees with stat(), field by field", async () => {
    const key = uniqueKey();
    const seg = track(SysvSegment.create({ key, size: 12345, mode: 0o640 }));
    seg.attach().detach();
    const held = seg.attach(); // stays attached: nattch 1
    seg.lock();
    const fields = Object.fromEntries(
      (await c('stat', String(seg.id)))
        .trim()
        .split(' ')
        .map((kv) => kv.split('=') as [string, string]),
    );
    const st = seg.stat();
    const seconds = (d: Date | null) => (d === null ? 0 : d.getTime() / 1000);
    expect(Number(fields.key)).toBe(st.key);
    expect(Number(fields.key)).toBe(key);
    expect(Number(fields.mode)).toBe(st.rawMode);
    expect(Number(fields.mode) & 0o777).toBe(st.mode);
    expect(st.locked).toBe(true);
    for (const name of ['uid', 'gid', 'cuid', 'cgid', 'size', 'cpid', 'lpid', 'nattch'] as const) {
      expect(Number(fields[name]), name).toBe(st[name]);
    }
    for (const name of ['atime', 'dtime', 'ctime'] as const) {
      expect(Number(fields[name]), name).toBe(seconds(st[name]));
    }
    expect(st.nattch).toBe(1);
    held.detach();
  });

  it('`ipcs -m -i <id>` agrees with stat()', async () => {
    const seg = track(SysvSegment.create({ key: uniqueKey(), size: 777, mode: 0o604 }));
    const held = seg.attach();
    const text = await ipcs('-m', '-i', String(seg.id));
    // ipcs itself inherits the attachment while it forks, which moves lpid
    // and the times: read stat() after it.
    const st = seg.stat();
    const field = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(text)?.[1];
    expect(Number(field('shmid'))).toBe(st.id);
    for (const name of ['uid', 'gid', 'cuid', 'cgid', 'lpid', 'cpid', 'nattch'] as const) {
      expect(Number(field(name)), name).toBe(st[name]);
    }
    expect(Number(field('bytes'))).toBe(st.size);
    expect(parseInt(field('mode')!, 8)).toBe(st.rawMode);
    expect(parseInt(field('access_perms')!, 8)).toBe(st.mode);
    const time = (name: string) => {
      const shown = new RegExp(`${name}=(.*)`).exec(text)![1]!.trim();
      return shown === 'Not set' ? null : new Date(`${shown} UTC`).getTime();
    };
    expect(time('att_time')).toBe(st.atime?.getTime() ?? null);
    expect(time('det_time')).toBe(st.dtime?.getTime() ?? null);
    expect(time('change_time')).toBe(st.ctime?.getTime() ?? null);
    held.detach();
  });

  it('listSegments() agrees with `ipcs -m` for our segments', async () => {
    const a = track(SysvSegment.create({ key: uniqueKey(), size: 1000, mode: 0o640 }));
    const b = track(SysvSegment.create({ size: 2000 }));
    const c2 = track(SysvSegment.create({ key: uniqueKey(), size: 3000 }));
    const attached = [a.attach(), a.attach(), c2.attach()];
    c2.lock();
    c2.remove(); // still attached: listed as "dest"
    const rows = new Map(
      (await ipcs('-m'))
        .split('\n')
        .filter((line) => /^0x/.test(line))
        .map((line) => {
          const [key, id, owner, perms, bytes, nattch, ...status] = line.trim().split(/\s+/);
          return [
            Number(id),
            {
              key,
              owner,
              perms,
              bytes: Number(bytes),
              nattch: Number(nattch),
              status: status.sort().join(' '),
            },
          ];
        }),
    );
    const listed = listSegments();
    expect(listed.map((s) => s.id)).toEqual([...listed.map((s) => s.id)].sort((x, y) => x - y));
    for (const seg of [a, b, c2]) {
      const info = listed.find((s) => s.id === seg.id);
      const row = rows.get(seg.id);
      expect(info, `segment ${seg.id} listed`).toBeDefined();
      expect(row, `segment ${seg.id} in ipcs`).toBeDefined();
      const status = [info!.removed ? 'dest' : '', info!.locked ? 'locked' : '']
        .filter(Boolean)
        .sort()
        .join(' ');
      expect({
        key: formatKey(info!.key),
        owner: info!.owner,
        perms: info!.mode.toString(8),
        bytes: info!.size,
        nattch: info!.nattch,
        status,
      }).toEqual(row);
      const st = seg.stat();
      expect(info).toMatchObject({
        key: st.key,
        uid: st.uid,
        gid: st.gid,
        cuid: st.cuid,
        cgid: st.cgid,
        cpid: st.cpid,
        size: st.size,
      });
    }
    expect(listed.find((s) => s.id === c2.id)).toMatchObject({
      removed: true,
      locked: true,
      key: 0,
    });
    for (const m of attached) m.detach();
    expect(listSegments().find((s) => s.id === c2.id)).toBeUndefined();
  });

  it('`ipcrm -m <id>` shows in stat() as removal', async () => {
    const seg = track(SysvSegment.create({ key: uniqueKey(), size: 100 }));
    const m = seg.attach();
    expect((await run('ipcrm', ['-m', String(seg.id)])).code).toBe(0);
    expect(seg.stat()).toMatchObject({ removed: true, key: 0, nattch: 1 });
    m.detach();
    expect(['EINVAL', 'EIDRM']).toContain(thrown(() => seg.stat()).code);

    const other = track(SysvSegment.create({ size: 100 }));
    expect((await run('ipcrm', ['-m', String(other.id)])).code).toBe(0);
    expect(['EINVAL', 'EIDRM']).toContain(thrown(() => other.stat()).code);
  });

  it('ftok gives the key C gets', async () => {
    for (const [path, proj] of [
      ['/', 1],
      ['/tmp', 65],
      [process.execPath, 255],
    ] as const) {
      expect(ftok(path, proj)).toBe(Number(await c('ftok', path, String(proj))));
    }
  });
});
