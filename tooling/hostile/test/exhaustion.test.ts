// Running out: of room in /dev/shm (a private 1 MiB tmpfs mounted over it
// in a mount namespace, so nothing else on the machine is affected) and of
// file descriptors (every one taken before the calls). A full tmpfs must
// fail at create, resize or map time with ENOSPC, never later with SIGBUS
// on a write; no descriptor left must be EMFILE, never a crash or a leak.
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot } from '@shmkit/testing';
import { type Attempt, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

/** Runs the battery with a 1 MiB tmpfs of its own on /dev/shm. */
const SMALL_SHM = [
  'unshare',
  '-m',
  '--propagation',
  'private',
  '--',
  'sh',
  '-c',
  'mount -t tmpfs -o size=1m,mode=1777 tmpfs /dev/shm && exec "$0" "$@"',
];

const full: Attempt[] = [
  {
    name: 'PosixShm.create larger than the free space',
    run: "PosixShm.create(unique('big'), { size: 4 << 20, exclusive: true });",
    expect: 'ENOSPC',
  },
  {
    name: 'PosixShm.create leaves nothing behind when it fails',
    run: "const name = unique('gone'); await codeOf(() => PosixShm.create(name, { size: 4 << 20, exclusive: true })); if (fs.existsSync('/dev/shm' + name)) throw new Error('left ' + name);",
    expect: 'ok',
  },
  {
    name: 'growing an object past the free space',
    run: "const name = unique('grow'); const shm = PosixShm.create(name, { size: PAGE, exclusive: true }); try { shm.resize(4 << 20); } finally { shm.close(); PosixShm.unlink(name); }",
    expect: 'ENOSPC',
  },
  {
    name: 'mapping and writing a sparse object another program made (holes reserved at map time)',
    run: `const name = unique('sparse'); const p = '/dev/shm' + name; fs.closeSync(fs.openSync(p, 'w', 0o600)); fs.truncateSync(p, 4 << 20);
const shm = PosixShm.open(name);
try { const m = shm.map(); touch(m.buffer); m.close(); } finally { shm.close(); fs.rmSync(p); }`,
    expect: 'ENOSPC',
  },
  {
    name: 'a read-only or private mapping of that sparse object needs no reservation',
    run: `const name = unique('sparse-ro'); const p = '/dev/shm' + name; fs.closeSync(fs.openSync(p, 'w', 0o600)); fs.truncateSync(p, 4 << 20);
const shm = PosixShm.open(name);
try { const ro = shm.map({ readOnly: true }); ro.read(0, 16); ro.close(); const cow = shm.map({ shared: false }); new Uint8Array(cow.buffer)[0] = 1; cow.close(); } finally { shm.close(); fs.rmSync(p); }`,
    expect: 'ok',
  },
  {
    name: "mapFile('/dev/shm/...', { size }) past the free space",
    run: "const p = '/dev/shm' + unique('mf'); try { mapFile(p, { size: 4 << 20 }); } finally { fs.rmSync(p, { force: true }); }",
    expect: 'ENOSPC',
  },
  {
    name: 'mapFile of a sparse tmpfs file (holes reserved at map time)',
    run: "const p = '/dev/shm' + unique('mfs'); fs.closeSync(fs.openSync(p, 'w')); fs.truncateSync(p, 4 << 20); try { const m = mapFile(p); touch(m.buffer); m.close(); } finally { fs.rmSync(p); }",
    expect: 'ENOSPC',
  },
  {
    name: 'NamedSemaphore.create on a full /dev/shm',
    run: `const filler = '/dev/shm' + unique('fill'); const fd = fs.openSync(filler, 'w');
try { for (;;) fs.writeSync(fd, Buffer.alloc(64 << 10)); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
try { const s = sync.NamedSemaphore.create(unique('sem'), { exclusive: true }); s.close(); } finally { fs.closeSync(fd); fs.rmSync(filler); }`,
    expect: ['ENOSPC', 'ok'],
  },
  {
    name: 'everything still works once space is free again',
    run: "const name = unique('after'); const shm = PosixShm.create(name, { size: 64 << 10, exclusive: true }); const m = shm.map(); touch(m.buffer); m.close(); shm.close(); PosixShm.unlink(name);",
    expect: 'ok',
  },
];

const noFds: Attempt[] = [
  {
    name: 'every open path with no descriptor left',
    run: `const dir = tmpDir(); const file = path.join(dir, 'f'); fs.writeFileSync(file, Buffer.alloc(PAGE));
const fifo = path.join(dir, 'p'); sync.Fifo.create(fifo);
const shmName = unique('fd'); PosixShm.create(shmName, { size: PAGE, exclusive: true }).close();
const semName = unique('fdsem'); sync.NamedSemaphore.create(semName, { exclusive: true }).close();
const held = [];
try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
const codes = {};
try {
  for (const [n, op] of Object.entries({
    'PosixShm.open': () => PosixShm.open(shmName).close(),
    'PosixShm.create': () => PosixShm.create(unique('fd2'), { size: PAGE }).close(),
    'NamedSemaphore.open': () => sync.NamedSemaphore.open(semName).close(),
    'NamedSemaphore.create': () => sync.NamedSemaphore.create(unique('fdsem2')).close(),
    mapFile: () => mapFile(file).close(),
    'Fifo.openReader': () => sync.Fifo.openReader(fifo).then((r) => r.close()),
    mapAnonymous: () => mapAnonymous(PAGE).close(),
    'SysvSegment.create': () => SysvSegment.create({ size: PAGE }).remove(),
  })) codes[n] = await codeOf(op);
} finally { held.forEach((fd) => fs.closeSync(fd)); PosixShm.unlink(shmName); sync.NamedSemaphore.unlink(semName); }
for (const n of ['PosixShm.open', 'PosixShm.create', 'NamedSemaphore.open', 'NamedSemaphore.create', 'mapFile', 'Fifo.openReader'])
  if (codes[n] !== 'EMFILE') throw new Error(n + ' gave ' + codes[n] + ', expected EMFILE');
// With descriptors back, the same calls work, so nothing leaked a descriptor.
PosixShm.create(unique('fd3'), { size: PAGE }).close();
return codes;`,
    expect: 'ok',
  },
  {
    name: 'one descriptor left: the checked open needs two for a moment and must not leak either',
    run: `const name = unique('onefd'); PosixShm.create(name, { size: PAGE, exclusive: true }).close();
const before = fs.readdirSync('/proc/self/fd').length;
const held = []; try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
fs.closeSync(held.pop());
const codes = [];
try { for (let i = 0; i < 50; i++) codes.push(await codeOf(() => PosixShm.open(name).close())); }
finally { held.forEach((fd) => fs.closeSync(fd)); PosixShm.unlink(name); }
const after = fs.readdirSync('/proc/self/fd').length;
if (after !== before) throw new Error('descriptors leaked: ' + before + ' -> ' + after);
return [...new Set(codes)];`,
    expect: 'ok',
  },
];

describe('running out of resources', () => {
  it.runIf(isRoot)(
    'a full /dev/shm fails at create, resize or map time, never with SIGBUS later',
    async () => {
      expect(await failures(full, { wrapper: SMALL_SHM })).toEqual([]);
    },
  );

  it('no file descriptors left', async () => {
    expect(await failures(noFds, { wrapper: ['prlimit', '--nofile=256:256', '--'] })).toEqual([]);
  });
});
