import { runNode, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { SysvSegment } from '../src/index';
import { cTool } from './c-tool';
import { pkgDir, track } from './helpers';
import { run } from '@shmkit/testing';

const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

/** Runs `body` as an ES module in a node child; `key`/`id` are in scope. Returns parsed JSON output. */
async function child(
  body: string,
  vars: Record<string, number>,
  wrapper?: string[],
): Promise<Record<string, unknown>> {
  const code = `
    import { SysvSegment, isSystemError } from '@shmkit/sysv-shm';
    const { ${Object.keys(vars).join(', ')} } = ${JSON.stringify(vars)};
    const out = {};
    const attempt = (name, fn) => { try { out[name] = fn() ?? 'ok'; } catch (e) { out[name] = { code: e.code, syscall: e.syscall, hint: e.hint, message: e.message }; } };
    ${body}
    console.log(JSON.stringify(out));
  `;
  const result = await runNode(code, { cwd: pkgDir, wrapper });
  if (result.code !== 0) throw new Error(`child failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('permissions, as an unprivileged user', () => {
  it('EACCES when the mode forbids the attach; a read-only attach where reading is allowed', async () => {
    const key = uniqueKey();
    const seg = track(SysvSegment.create({ key, size: 4096, mode: 0o600 }));
    const body = `
      const seg = SysvSegment.open({ key });
      attempt('rw', () => { seg.attach(); });
      attempt('ro', () => { seg.attach({ readOnly: true }); });
      attempt('stat', () => { seg.stat(); });
    `;
    const denied = await child(body, { key }, asNobody);
    expect(denied.rw).toMatchObject({ code: 'EACCES', syscall: 'shmat' });
    expect(denied.ro).toMatchObject({ code: 'EACCES', syscall: 'shmat' });
    expect(denied.stat).toMatchObject({ code: 'EACCES', syscall: 'shmctl' });
    expect((denied.rw as { message: string }).message).toBe(
      `EACCES: permission denied, shmat id ${seg.id}`,
    );

    seg.set({ mode: 0o604 });
    const readable = await child(body, { key }, asNobody);
    expect(readable.rw).toMatchObject({ code: 'EACCES', syscall: 'shmat' });
    expect(readable.ro).toBe('ok');
    expect(readable.stat).toBe('ok');
  });

  it('EPERM with a hint for lock, set and remove by someone who is not the owner', async () => {
    const seg = track(SysvSegment.create({ size: 4096, mode: 0o666 }));
    const out = await child(
      `const seg = SysvSegment.fromId(id);
       attempt('lock', () => seg.lock());
       attempt('set', () => seg.set({ mode: 0o600 }));
       attempt('remove', () => seg.remove());`,
      { id: seg.id },
      asNobody,
    );
    expect(out.lock).toMatchObject({ code: 'EPERM', syscall: 'shmctl' });
    expect((out.lock as { hint: string }).hint).toMatch(/CAP_IPC_LOCK/);
    expect((out.lock as { hint: string }).hint).toMatch(/RLIMIT_MEMLOCK/);
    expect(out.set).toMatchObject({ code: 'EPERM' });
    expect(out.remove).toMatchObject({ code: 'EPERM' });
    expect(seg.stat()).toMatchObject({ removed: false, mode: 0o666, locked: false });
  });

  it('EPERM for an owner with no RLIMIT_MEMLOCK and no CAP_IPC_LOCK', async () => {
    const seg = track(SysvSegment.create({ size: 4096 }));
    seg.set({ uid: 65534, gid: 65534 });
    const out = await child(
      `attempt('lock', () => SysvSegment.fromId(id).lock());`,
      { id: seg.id },
      ['prlimit', '--memlock=0:0', '--', ...asNobody],
    );
    expect(out.lock).toMatchObject({ code: 'EPERM', syscall: 'shmctl' });
    expect(seg.stat().locked).toBe(false);
  });
});

describe('many processes, one segment', () => {
  it('node processes (and a C one) add with Atomics 1,000,000 times each: the total is exact', async () => {
    const key = uniqueKey();
    const seg = track(SysvSegment.create({ key, size: 4096 }));
    const times = 1_000_000;
    const body = `
      const m = SysvSegment.open({ key }).attach();
      const words = m.int32Array();
      for (let i = 0; i < ${times}; i++) Atomics.add(words, 0, 1);
      m.detach();
      out.done = true;
    `;
    const results = await Promise.all([
      child(body, { key }),
      child(body, { key }),
      child(body, { key }),
      run(cTool(), ['add', String(seg.id), String(times)]),
    ]);
    expect(results.slice(0, 3)).toEqual([{ done: true }, { done: true }, { done: true }]);
    expect((results[3] as { code: number }).code).toBe(0);
    const m = seg.attach({ readOnly: true });
    expect(m.read(0, 4).readInt32LE(0)).toBe(4 * times);
    m.detach();
    expect(seg.stat().nattch).toBe(0);
  });

  it('a child that exits without detaching leaves no attachment behind', async () => {
    const seg = track(SysvSegment.create({ size: 4096 }));
    await child(`globalThis.keep = SysvSegment.fromId(id).attach();`, { id: seg.id });
    expect(seg.stat().nattch).toBe(0);
  });
});
