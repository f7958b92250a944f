import { existsSync, fstatSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PosixShm } from '../src/index';
import { isRoot, run, runNode } from '@shmkit/testing';
import { name, pkgDir, track } from './helpers';

describe('create / open / map', () => {
  it('creates exactly the requested size and mode, with no header', () => {
    const n = name();
    using shm = PosixShm.create(n, { size: 10_000, exclusive: true });
    expect(shm.created).toBe(true);
    expect(shm.name).toBe(n);
    expect(shm.size).toBe(10_000);
    expect(shm.stat().mode).toBe(0o600);
    const st = statSync(`/dev/shm${n}`);
    expect(st.size).toBe(10_000);
    expect(st.mode & 0o777).toBe(0o600);
    expect(fstatSync(shm.fd).size).toBe(10_000);
    // Reserved up front: every page is allocated.
    expect(st.blocks * 512).toBeGreaterThanOrEqual(10_000);
    using map = shm.map();
    expect(map.kind).toBe('posix-shm');
    expect(map.byteLength).toBe(10_000);
    map.uint8Array().set(Buffer.from('hello'), 0);
    using again = PosixShm.open(n);
    using other = again.map();
    expect(Buffer.from(other.uint8Array(0, 5)).toString()).toBe('hello');
  });

  it('applies the mode exactly, ignoring the umask', () => {
    const n = name();
    const old = process.umask(0o077);
    try {
      using shm = PosixShm.create(n, { size: 1, mode: 0o664 });
      expect(shm.stat().mode).toBe(0o664);
    } finally {
      process.umask(old);
    }
  });

  it('opens or creates unless exclusive, growing but never shrinking', () => {
    const n = name();
    using a = PosixShm.create(n, { size: 8192 });
    expect(a.created).toBe(true);
    using b = PosixShm.create(n, { size: 4096 });
    expect(b.created).toBe(false);
    expect(b.size).toBe(8192);
    using c = PosixShm.create(n, { size: 20_000 });
    expect(c.size).toBe(20_000);
    expect(() => PosixShm.create(n, { size: 1, exclusive: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'shm_open', ipcName: n }),
    );
  });

  it('resizes, maps at page offsets and checks ranges against the size', () => {
    const n = name();
    using shm = PosixShm.create(n, { size: 4096 });
    shm.resize(3 * 4096);
    expect(shm.size).toBe(3 * 4096);
    using tail = shm.map({ offset: 4096, length: 4096 });
    expect(tail.byteLength).toBe(4096);
    using whole = shm.map();
    tail.uint8Array()[0] = 42;
    expect(whole.uint8Array()[4096]).toBe(42);
    using big = shm.map({ offset: 8192n });
    expect(big.byteLength).toBe(4096);
    // Shrinking under this process's own mappings would make them SIGBUS.
    expect(() => shm.resize(100)).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_BUSY' }));
    expect(shm.size).toBe(3 * 4096);
    big.close();
    whole.close();
    // `tail` still ends at byte 8192.
    expect(() => shm.resize(2 * 4096 - 1)).toThrow(
      expect.objectContaining({ code: 'ERR_SHMKIT_BUSY' }),
    );
    shm.resize(2 * 4096);
    tail.close();
    shm.resize(100);
    expect(shm.size).toBe(100);
  });

  it('a mapping that was garbage collected no longer blocks shrinking', async () => {
    const r = await runNode(
      `import { PosixShm } from '@shmkit/posix-shm';
       const shm = PosixShm.create(process.argv[1], { size: 8192 });
       let m = shm.map();
       m.uint8Array()[0] = 1;
       const out = {};
       try { shm.resize(0); } catch (e) { out.busy = e.code; }
       m = undefined;
       for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
       shm.resize(0);
       out.size = shm.size;
       shm.unlink();
       console.log(JSON.stringify(out));`,
      { cwd: pkgDir, nodeArgs: ['--expose-gc'], args: [name()] },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ busy: 'ERR_SHMKIT_BUSY', size: 0 });
  });

  it('close() releases the fd, keeps mappings, and is idempotent', () => {
    const n = name();
    const shm = PosixShm.create(n, { size: 64 });
    const fd = shm.fd;
    const map = shm.map();
    shm.close();
    shm.close();
    expect(shm.closed).toBe(true);
    expect(() => fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    map.uint8Array()[0] = 7;
    expect(map.read(0, 1)[0]).toBe(7);
    map.close();
    expect(() => shm.fd).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
    expect(() => shm.map()).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
    expect(() => shm.resize(10)).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_CLOSED' }));
    shm.unlink();
    expect(existsSync(`/dev/shm${n}`)).toBe(false);
  });

  it('list() reports objects with size, mode and owner', () => {
    const n = name();
    using shm = PosixShm.create(n, { size: 12_345, mode: 0o640 });
    const entry = PosixShm.list().find((e) => e.name === n);
    expect(entry).toMatchObject({
      name: n,
      size: 12_345,
      mode: 0o640,
      uid: process.getuid!(),
      gid: process.getgid!(),
    });
    if (isRoot) expect(entry?.owner).toBe('root');
    shm.unlink();
    expect(PosixShm.list().some((e) => e.name === n)).toBe(false);
  });
});

describe('read-only safety', () => {
  it('maps a read-only object copy-on-write: live reads, local writes, no fault', () => {
    const n = name();
    using writer = PosixShm.create(n, { size: 4096 });
    using wmap = writer.map();
    using reader = PosixShm.open(n, { readOnly: true });
    expect(reader.readOnly).toBe(true);
    using rmap = reader.map();
    expect(rmap.readOnly).toBe(false);
    const view = rmap.uint8Array();
    wmap.uint8Array()[10] = 1;
    expect(view[10]).toBe(1); // sees the writer live
    view[0] = 99; // writes stay in this process
    expect(wmap.uint8Array()[0]).toBe(0);
    wmap.uint8Array()[20] = 5; // same page, now a private copy
    expect(view[20]).toBe(0);
  });

  it('maps shared read-only without a buffer; read() copies live bytes', () => {
    const n = name();
    using writer = PosixShm.create(n, { size: 4096 });
    using wmap = writer.map();
    using reader = PosixShm.open(n, { readOnly: true });
    using rmap = reader.map({ shared: true });
    expect(rmap.readOnly).toBe(true);
    expect(() => rmap.buffer).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_READ_ONLY' }));
    wmap.uint8Array().set([1, 2, 3]);
    expect([...rmap.read(0, 3)]).toEqual([1, 2, 3]);
  });

  it('refuses a writable shared mapping of a read-only object (EACCES) and resizing it', () => {
    const n = name();
    using writer = PosixShm.create(n, { size: 4096 });
    using reader = PosixShm.open(n, { readOnly: true });
    expect(() => reader.map({ readOnly: false, shared: true })).toThrow(
      expect.objectContaining({ code: 'EACCES', syscall: 'mmap', ipcName: n }),
    );
    expect(() => reader.resize(8192)).toThrow(
      expect.objectContaining({ code: 'ERR_SHMKIT_READ_ONLY' }),
    );
    expect(writer.size).toBe(4096);
  });
});

describe('errors', () => {
  it('rejects bad names with ERR_INVALID_ARG_VALUE before any syscall', () => {
    const bad = [
      'noslash',
      '/',
      '/a/b',
      '//a',
      '/.',
      '/..',
      '/a\0b',
      `/${'x'.repeat(255)}`,
      `/${'é'.repeat(128)}`,
    ];
    for (const n of bad) {
      expect(() => PosixShm.create(n, { size: 1 }), n).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
      expect(() => PosixShm.open(n), n).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
      expect(() => PosixShm.unlink(n), n).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
    }
    expect(() => PosixShm.open(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    // glibc's files of named semaphores: '/sem.x' is the file of the semaphore '/x'.
    const file = `/sem.${name().slice(1)}`;
    writeFileSync(`/dev/shm${file}`, 'semaphore');
    try {
      for (const call of [
        () => PosixShm.create(file, { size: 4096 }),
        () => PosixShm.open(file),
        () => PosixShm.unlink(file),
      ]) {
        expect(call).toThrow(
          expect.objectContaining({
            code: 'ERR_INVALID_ARG_VALUE',
            message: expect.stringContaining("must not start with '/sem.'"),
          }),
        );
      }
      expect(readFileSync(`/dev/shm${file}`, 'utf8')).toBe('semaphore');
    } finally {
      rmSync(`/dev/shm${file}`, { force: true });
    }
    // The longest legal name works.
    const longest = `/${'y'.repeat(254)}`;
    track(longest);
    using ok = PosixShm.create(longest, { size: 1 });
    expect(ok.size).toBe(1);
  });

  it('rejects bad sizes, modes and options', () => {
    const n = name();
    for (const size of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, NaN]) {
      expect(() => PosixShm.create(n, { size }), String(size)).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
    }
    expect(() => PosixShm.create(n, { size: '1' as unknown as number })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => PosixShm.create(n, undefined as unknown as { size: number })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => PosixShm.create(n, { size: 1, mode: 0o10000 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => PosixShm.create(n, { size: 1, exclusive: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(existsSync(`/dev/shm${n}`)).toBe(false);
    using shm = PosixShm.create(n, { size: 8192 });
    expect(() => shm.resize(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => shm.map({ offset: 100 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'RangeError' }),
    );
    // Past the object's end: the same code mapFile gives for a file.
    for (const range of [{ offset: 8192 }, { length: 8193 }, { offset: 4096, length: 4097 }]) {
      expect(() => shm.map(range), JSON.stringify(range)).toThrow(
        expect.objectContaining({ code: 'ERR_SHMKIT_BEYOND_EOF', name: 'RangeError' }),
      );
    }
    expect(() => shm.map({ length: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    shm.resize(0);
    expect(() => shm.map()).toThrow(expect.objectContaining({ code: 'ERR_SHMKIT_EMPTY' }));
  });

  it('ENOENT for a missing object', () => {
    const n = name();
    expect(() => PosixShm.open(n)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'shm_open', ipcName: n, errno: -2 }),
    );
    expect(() => PosixShm.unlink(n)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'shm_unlink' }),
    );
  });

  it('EMFILE when out of file descriptors', async () => {
    const n = name();
    using shm = PosixShm.create(n, { size: 1 });
    const code = `
      import { PosixShm } from '@shmkit/posix-shm';
      const held = [];
      try {
        for (let i = 0; i < 1000; i++) held.push(PosixShm.open(${JSON.stringify(n)}));
        console.log('no error');
      } catch (e) {
        console.log(e.code, e.syscall, held.length > 0);
      }
    `;
    const r = await runNode(code, { cwd: pkgDir, wrapper: ['prlimit', '--nofile=64', '--'] });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('EMFILE shm_open true\n');
    expect(shm.size).toBe(1);
  });

  it('EACCES for another user (setpriv to nobody)', async () => {
    const n = name();
    using shm = PosixShm.create(n, { size: 4096, mode: 0o644 });
    const code = `
      import { PosixShm } from '@shmkit/posix-shm';
      const out = {};
      try { PosixShm.open(${JSON.stringify(n)}); } catch (e) { out.rw = e.code + ' ' + e.syscall; }
      const ro = PosixShm.open(${JSON.stringify(n)}, { readOnly: true });
      out.roSize = ro.size;
      try { PosixShm.unlink(${JSON.stringify(n)}); } catch (e) { out.unlink = e.code; }
      try { PosixShm.create(${JSON.stringify(n)}, { size: 1 }); } catch (e) { out.create = e.code; }
      console.log(JSON.stringify(out));
    `;
    const r = await runNode(code, {
      cwd: pkgDir,
      wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'],
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      rw: 'EACCES shm_open',
      roSize: 4096,
      unlink: 'EACCES',
      create: 'EACCES',
    });
    expect(shm.size).toBe(4096);
  });
});

describe('space reservation', () => {
  it('a full /dev/shm fails at create/resize with ENOSPC, not SIGBUS later', async () => {
    // A private mount namespace with a 1 MiB tmpfs on /dev/shm: the host's
    // /dev/shm is untouched and the mount vanishes with the child.
    const script = `
      import { PosixShm } from '@shmkit/posix-shm';
      const out = {};
      try { PosixShm.create('/big', { size: 2 * 1024 * 1024 }); } catch (e) { out.create = e.code + ' ' + e.syscall; }
      out.leftAfterCreate = PosixShm.list().map((e) => e.name);
      const shm = PosixShm.create('/small', { size: 512 * 1024 });
      try { shm.resize(4 * 1024 * 1024); } catch (e) { out.resize = e.code + ' ' + e.syscall; }
      out.sizeAfterResize = shm.size;
      const map = shm.map();
      map.uint8Array().fill(1); // every reserved page is writable: no SIGBUS
      out.sum = map.uint8Array().reduce((a, b) => a + b, 0);
      shm.unlink();
      console.log(JSON.stringify(out));
    `;
    const r = await run(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$0" --input-type=module -e "$1"',
        process.execPath,
        script,
      ],
      { cwd: pkgDir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      create: 'ENOSPC fallocate',
      leftAfterCreate: [],
      resize: 'ENOSPC fallocate',
      sizeAfterResize: 512 * 1024,
      sum: 512 * 1024,
    });
  });
});
