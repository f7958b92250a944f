// Option getters, Proxies and valueOf/toString side effects on every call
// that takes an options object, in every package. Each harm (closing the
// mapping or handle the call works on, shrinking or unlinking what it maps,
// swapping a FIFO or symlink in) happens in the middle of the call's
// argument reading; the call must then act on nothing freed and leave no
// buffer over freed memory, ending normally or with a coded error.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, failures } from '../src/harness';
import { reentrantAttempts, type Site } from '../src/reentrant';

afterAll(cleanUp);

const mapping = (extra = '') =>
  `const m = mapAnonymous(4 * PAGE); const views = [m.buffer, m.window(PAGE, PAGE)]; ${extra}`;
const touchAll = 'touchMapping(m); views.forEach(touch);';
const mappingHarms = {
  'closes the mapping': 'm.close()',
  "protects it 'none'": "try { m.protect('none'); } catch {}",
  'protects, then closes it': "try { m.protect('read'); } catch {} m.close()",
};

const coreSites: Site[] = [
  {
    name: 'Mapping.protect',
    setup: mapping(),
    call: "m.protect('read-write', OPTS)",
    keys: { offset: '0', length: 'PAGE' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: "Mapping.protect('none')",
    setup: mapping(),
    call: "m.protect('none', OPTS)",
    keys: { offset: 'PAGE', length: 'PAGE' },
    harms: { ...mappingHarms, "restores 'read-write'": "m.protect('read-write')" },
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mapping.sync',
    setup: mapping(),
    call: 'm.sync(OPTS)',
    keys: { offset: '0', length: 'PAGE', async: 'false', invalidate: 'false' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mapping.syncAsync',
    setup: mapping(),
    call: 'm.syncAsync(OPTS)',
    keys: { offset: '0', length: 'PAGE' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mapping.advise',
    setup: mapping(),
    call: "m.advise('dontneed', OPTS)",
    keys: { offset: '0', length: 'PAGE' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mapping.window',
    setup: mapping(),
    call: '(() => { const o = OPTS; return m.window(o, o); })()',
    keys: { offset: '0' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mapping.read',
    setup: mapping(),
    call: '(() => { const o = OPTS; return m.read(o, o); })()',
    keys: { offset: '0' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mapping.residency',
    setup: mapping(),
    call: 'm.residency(OPTS)',
    keys: { offset: '0', length: 'PAGE' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mapping.readInto',
    setup: mapping('const into = new Uint8Array(PAGE);'),
    call: '(() => { const o = OPTS; return m.readInto(into, o, o); })()',
    keys: { offset: '0' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'mapAnonymous',
    setup: mapping(),
    call: '(() => { const n = mapAnonymous(PAGE, OPTS); touchMapping(n); n.close(); })()',
    keys: { shared: 'true' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
];

const shm = (extra = '') =>
  `const name = unique('shm'); const shm = PosixShm.create(name, { size: 4 * PAGE, exclusive: true }); const m = shm.map(); const views = [m.buffer]; ${extra}`;
const shmHarms = {
  'closes the object': 'shm.close()',
  'closes the mapping': 'm.close()',
  'unlinks it and squats a FIFO on the name':
    "PosixShm.unlink(name); cp.execFileSync('mkfifo', ['/dev/shm' + name])",
};
// Truncating behind shmkit's back (node:fs, another process) while a
// mapping exists is the one hazard no library can guard (README caveats);
// the call itself must still never map past the new end.
const unmappedShm = `const name = unique('shm'); const shm = PosixShm.create(name, { size: 4 * PAGE, exclusive: true }); const m = mapAnonymous(PAGE); const views = [m.buffer];`;
const truncateHarms = {
  'shrinks the object with fs.ftruncateSync': 'fs.ftruncateSync(shm.fd, 0)',
  'shrinks it to one byte': 'fs.ftruncateSync(shm.fd, 1)',
};
const shmCleanup = "m.close(); shm.close(); fs.rmSync('/dev/shm' + name, { force: true });";

const posixSites: Site[] = [
  {
    name: 'PosixShm.map',
    setup: shm(),
    call: '(() => { const n = shm.map(OPTS); touchMapping(n); n.close(); })()',
    keys: { offset: '0', length: 'PAGE', readOnly: 'false', shared: 'true', populate: 'false' },
    harms: shmHarms,
    after: 'touch(views[0])',
    cleanup: shmCleanup,
  },
  {
    name: 'PosixShm.map of an object shrunk meanwhile',
    setup: unmappedShm,
    call: '(() => { const n = shm.map(OPTS); touchMapping(n); n.close(); })()',
    keys: { offset: '0', length: 'PAGE', readOnly: 'false', shared: 'true', populate: 'false' },
    harms: truncateHarms,
    after: 'touch(views[0])',
    cleanup: shmCleanup,
  },
  {
    name: 'PosixShm.open of an object shrunk meanwhile',
    setup: unmappedShm,
    call: '(() => { const o = PosixShm.open(name, OPTS); const n = o.map(); touchMapping(n); n.close(); o.close(); })()',
    keys: { readOnly: 'true' },
    harms: truncateHarms,
    after: 'touch(views[0])',
    cleanup: shmCleanup,
  },
  {
    name: 'PosixShm.create',
    setup: shm(),
    call: 'PosixShm.create(name, OPTS).close()',
    keys: { size: 'PAGE', mode: '0o600', exclusive: 'false', reserve: 'true' },
    harms: shmHarms,
    after: 'touch(views[0])',
    cleanup: shmCleanup,
  },
  {
    name: 'PosixShm.create({ publish: false }) + publish()',
    setup: shm(),
    call: '(() => { const fresh = unique("pub"); const o = PosixShm.create(fresh, OPTS); try { const n = o.map(); touchMapping(n); n.close(); o.publish(); } finally { o.close(); try { PosixShm.unlink(fresh); } catch {} } })()',
    keys: { size: 'PAGE', publish: 'false', mode: '0o600' },
    harms: shmHarms,
    after: 'touch(views[0])',
    cleanup: shmCleanup,
  },
  {
    name: 'PosixShm.open',
    setup: shm(),
    call: '(() => { const o = PosixShm.open(name, OPTS); const n = o.map(); touchMapping(n); n.close(); o.close(); })()',
    keys: { readOnly: 'true' },
    harms: shmHarms,
    after: 'touch(views[0])',
    cleanup: shmCleanup,
  },
];

const file = (mapped: boolean) =>
  `const dir = tmpDir(); const file = path.join(dir, 'f'); fs.writeFileSync(file, Buffer.alloc(4 * PAGE)); const m = ${mapped ? 'mapFile(file)' : 'mapAnonymous(PAGE)'}; const views = [m.buffer];`;
const mapFileKeys = {
  offset: '0',
  length: 'PAGE',
  shared: 'true',
  readOnly: 'false',
  populate: 'false',
  size: '2 * PAGE',
  mode: '0o600',
  reserve: 'false',
};
const mmapSites: Site[] = [
  {
    name: 'mapFile of a file truncated meanwhile',
    setup: file(false),
    call: '(() => { const n = mapFile(file, OPTS); touchMapping(n); n.close(); })()',
    keys: { ...mapFileKeys, size: 'undefined' },
    harms: {
      'truncates the file to 0': 'fs.truncateSync(file, 0)',
      'truncates it to 1 byte': 'fs.truncateSync(file, 1)',
    },
    after: 'touch(views[0])',
    cleanup: 'm.close(); fs.rmSync(dir, { recursive: true, force: true });',
  },
  {
    name: 'mapFile',
    setup: file(true),
    call: '(() => { const n = mapFile(file, OPTS); touchMapping(n); n.close(); })()',
    keys: mapFileKeys,
    harms: {
      'replaces the file with a FIFO': "fs.rmSync(file); cp.execFileSync('mkfifo', [file])",
      'replaces the file with a symlink to /dev/zero':
        "fs.rmSync(file); fs.symlinkSync('/dev/zero', file)",
      'closes the other mapping': 'm.close()',
    },
    after: 'touch(views[0])',
    cleanup: 'm.close(); fs.rmSync(dir, { recursive: true, force: true });',
  },
];

const sysvSites: Site[] = [
  {
    name: 'SysvSegment.attach',
    setup:
      'const seg = SysvSegment.create({ size: 4 * PAGE }); const m = seg.attach(); const views = [m.buffer];',
    call: '(() => { const n = seg.attach(OPTS); touchMapping(n); n.close(); })()',
    keys: { readOnly: 'false' },
    harms: { 'removes the segment': 'seg.remove()', 'detaches the other attachment': 'm.close()' },
    after: 'touch(views[0])',
    cleanup: 'm.close(); try { seg.remove(); } catch {}',
  },
  {
    name: 'SysvSegment.create',
    setup: 'const m = mapAnonymous(PAGE); const views = [m.buffer];',
    call: '(() => { const s = SysvSegment.create(OPTS); const a = s.attach(); touchMapping(a); a.close(); s.remove(); })()',
    keys: {
      size: 'PAGE',
      mode: '0o600',
      exclusive: 'false',
      hugePages: 'false',
      noReserve: 'false',
    },
    harms: { 'closes an unrelated mapping': 'm.close()' },
    after: 'touch(views[0])',
    cleanup: 'm.close()',
  },
];

const syncSites: Site[] = [
  {
    name: 'Mutex.lock',
    setup: mapping('const mutex = sync.Mutex.init(m, 0);'),
    call: '(() => { const g = mutex.lock(OPTS); g.unlock(); })()',
    keys: { timeout: '50', spin: 'false' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Mutex.lockAsync',
    setup: mapping('const mutex = sync.Mutex.init(m, 0);'),
    call: 'mutex.lockAsync(OPTS).then((g) => g.unlock())',
    keys: { timeout: '50', spin: 'false', signal: 'undefined' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'PthreadMutex.lock',
    setup: mapping('const mutex = sync.PthreadMutex.init(m, 0);'),
    call: '(() => { const g = mutex.lock(OPTS); g.unlock(); })()',
    keys: { timeout: '50' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'SharedEvent.wait',
    setup: mapping('const event = sync.SharedEvent.init(m, 0);'),
    call: 'event.wait(OPTS)',
    keys: { timeout: '20' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'SharedEvent.waitAsync',
    setup: mapping('const event = sync.SharedEvent.init(m, 0);'),
    call: 'event.waitAsync(OPTS)',
    keys: { timeout: '20', signal: 'undefined' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Semaphore.wait',
    setup: mapping('const sem = sync.Semaphore.init(m, 0, 0);'),
    call: 'sem.wait(OPTS)',
    keys: { timeout: '20' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'Semaphore.waitAsync',
    setup: mapping('const sem = sync.Semaphore.init(m, 0, 0);'),
    call: 'sem.waitAsync(OPTS)',
    keys: { timeout: '20', signal: 'undefined' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'futexWait',
    setup: mapping('const words = new Int32Array(views[0]);'),
    call: 'sync.futexWait(words, 0, 0, OPTS)',
    keys: { timeout: '10', spin: 'false' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'NamedSemaphore.create',
    setup: "const m = mapAnonymous(PAGE); const views = [m.buffer]; const name = unique('sem');",
    call: '(() => { const s = sync.NamedSemaphore.create(name, OPTS); s.post(); s.tryWait(); s.close(); })()',
    keys: { value: '1', mode: '0o600', exclusive: 'false' },
    harms: {
      'plants a FIFO at the name': "cp.execFileSync('mkfifo', ['/dev/shm/sem.' + name.slice(1)])",
      'plants an empty file at the name': "fs.writeFileSync('/dev/shm/sem.' + name.slice(1), '')",
      'plants a symlink at the name':
        "fs.symlinkSync('/etc/passwd', '/dev/shm/sem.' + name.slice(1))",
    },
    cleanup: "m.close(); fs.rmSync('/dev/shm/sem.' + name.slice(1), { force: true });",
  },
  {
    name: 'SysvSemaphoreSet.op',
    setup:
      'const m = mapAnonymous(PAGE); const views = [m.buffer]; const set = sync.SysvSemaphoreSet.create({ count: 2 });',
    call: 'set.op([{ index: 0, op: 1 }], OPTS)',
    keys: { timeout: '10', undo: 'false' },
    harms: { 'removes the set': 'set.remove()' },
    cleanup: 'try { set.remove(); } catch {} m.close();',
  },
  {
    name: 'Fifo.openReader',
    setup:
      "const dir = tmpDir(); const fifo = path.join(dir, 'p'); sync.Fifo.create(fifo); const m = mapAnonymous(PAGE); const views = [m.buffer];",
    call: '(async () => { const r = await sync.Fifo.openReader(fifo, OPTS); r.close(); })()',
    keys: { recordSize: '4', keepAlive: 'true' },
    harms: {
      'replaces the FIFO with a regular file': "fs.rmSync(fifo); fs.writeFileSync(fifo, 'x')",
      'replaces the FIFO with a symlink to /dev/zero':
        "fs.rmSync(fifo); fs.symlinkSync('/dev/zero', fifo)",
    },
    cleanup: 'm.close(); fs.rmSync(dir, { recursive: true, force: true });',
  },
  {
    name: 'Fifo.create',
    setup:
      "const dir = tmpDir(); const fifo = path.join(dir, 'p'); const victim = path.join(dir, 'victim'); fs.writeFileSync(victim, 'secret', { mode: 0o600 }); const m = mapAnonymous(PAGE); const views = [m.buffer];",
    call: '(() => { sync.Fifo.create(fifo, OPTS); const mode = fs.statSync(victim).mode & 0o777; if (mode !== 0o600) throw new Error("victim chmod to " + mode.toString(8)); })()',
    keys: { mode: '0o666', reuse: 'true' },
    harms: { 'plants a symlink to a victim file': 'fs.symlinkSync(victim, fifo)' },
    cleanup: 'm.close(); fs.rmSync(dir, { recursive: true, force: true });',
  },
];

const mlockSites: Site[] = [
  {
    name: 'mlock.lock',
    setup: mapping(),
    call: '(() => { const l = mlock.lock(m, OPTS); l.unlock(); })()',
    keys: { offset: '0', length: 'PAGE', onFault: 'true' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
  {
    name: 'mlock.unlock',
    setup: mapping('mlock.lock(m);'),
    call: 'mlock.unlock(m, OPTS)',
    keys: { offset: '0', length: 'PAGE' },
    harms: mappingHarms,
    after: touchAll,
    cleanup: 'm.close()',
  },
];

describe.each([
  ['@shmkit/core', coreSites],
  ['@shmkit/posix-shm', posixSites],
  ['@shmkit/mmap', mmapSites],
  ['@shmkit/sysv-shm', sysvSites],
  ['@shmkit/sync', syncSites],
  ['@shmkit/mlock', mlockSites],
])('%s: re-entrant arguments', (_pkg, sites) => {
  it.each(sites.map((s) => [s.name, s] as const))('%s', async (_name, site) => {
    expect(await failures(reentrantAttempts(site))).toEqual([]);
  });
});
