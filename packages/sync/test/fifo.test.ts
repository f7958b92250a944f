// FIFOs between real processes: node children and C programs.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileC, run, runNode, spawnNode, waitForLine } from '@shmkit/testing';

import { Fifo } from '../src/fifo';

const pkgDir = resolve(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'shmkit-fifo-'));
let n = 0;
const fifoPath = () => join(dir, `f${++n}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function int32(record: Buffer): number {
  return new Int32Array(record.buffer, record.byteOffset, 1)[0]!;
}

describe('create / unlink', () => {
  it('creates with exactly the mode, EEXIST unless reuse, reuse only for FIFOs', () => {
    const p = fifoPath();
    const old = process.umask(0o077);
    try {
      expect(Fifo.create(p, { mode: 0o660 })).toBe(true);
    } finally {
      process.umask(old);
    }
    const st = statSync(p);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o660);
    expect(() => Fifo.create(p)).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'mkfifo', path: p }),
    );
    expect(Fifo.create(p, { reuse: true })).toBe(false);
    Fifo.unlink(p);
    expect(existsSync(p)).toBe(false);
    expect(() => Fifo.unlink(p)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const q = fifoPath();
    expect(Fifo.create(q)).toBe(true);
    expect(statSync(q).mode & 0o7777).toBe(0o600);
    Fifo.unlink(q);
  });

  it('never treats a regular file as a FIFO', async () => {
    const file = fifoPath();
    writeFileSync(file, 'data');
    expect(() => Fifo.create(file, { reuse: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    expect(() => Fifo.unlink(file)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    await expect(Fifo.openReader(file)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(existsSync(file)).toBe(true);
  });

  it('rejects bad arguments by code', async () => {
    expect(() => Fifo.create('')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Fifo.create('a\0b')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => Fifo.create(1 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => Fifo.create(fifoPath(), { mode: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Fifo.create(join(dir, 'missing', 'f'))).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    await expect(Fifo.openReader(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
    const p = fifoPath();
    Fifo.create(p);
    await expect(Fifo.openReader(p, { recordSize: 0 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    await expect(Fifo.openReader(p, { recordSize: 4097 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    await expect(Fifo.openWriter(p, { timeout: -1 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    const reader = await Fifo.openReader(p);
    const writer = await Fifo.openWriter(p);
    await expect(writer.notify('')).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(writer.notify(Buffer.alloc(4097))).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    await expect(writer.notify(5 as unknown as string)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    await expect(reader.wait({ timeout: -5 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(reader.wait({ signal: {} as AbortSignal })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    writer.close();
    reader.close();
    Fifo.unlink(p);
  });
  it('EACCES for a user without permission (setpriv to nobody)', async () => {
    const p = fifoPath();
    Fifo.create(p); // 0o600 in a 0o700 directory: nobody may neither open nor create
    const code = `
      import { Fifo } from '@shmkit/sync';
      const out = [];
      for (const attempt of [
        () => Fifo.openReader(${JSON.stringify(p)}),
        () => Fifo.openWriter(${JSON.stringify(p)}, { waitForReader: false }),
        async () => Fifo.create(${JSON.stringify(p + '-new')}),
      ]) {
        try { await attempt(); out.push('opened'); } catch (e) { out.push(e.code); }
      }
      console.log(out.join(' '));
    `;
    const r = await runNode(code, {
      cwd: pkgDir,
      wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'],
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('EACCES EACCES EACCES\n');
    Fifo.unlink(p);
  });
});

describe('opening the write end', () => {
  it('ENXIO without a reader, ETIMEDOUT / AbortError while waiting for one', async () => {
    const p = fifoPath();
    Fifo.create(p);
    await expect(Fifo.openWriter(p, { waitForReader: false })).rejects.toMatchObject({
      code: 'ENXIO',
    });
    await expect(Fifo.openWriter(p, { timeout: 50 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(Fifo.openWriter(p, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    Fifo.unlink(p);
  });

  it('waits, without blocking the event loop, until another process opens a reader', async () => {
    const p = fifoPath();
    Fifo.create(p);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const opening = Fifo.openWriter(p, { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    const child = spawnNode(
      `
      import { Fifo } from '@shmkit/sync';
      const reader = await Fifo.openReader(${JSON.stringify(p)});
      console.log('reading');
      for await (const record of reader) console.log('got', record.toString());
      console.log('end');
    `,
      { cwd: pkgDir },
    );
    await waitForLine(child, /reading/);
    const writer = await opening;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
    await writer.notify('hi!!');
    writer.close();
    await waitForLine(child, /got hi!!\nend/);
    Fifo.unlink(p);
  });
});

describe('notifications', () => {
  it('records from several writer processes arrive whole, then the stream ends', async () => {
    const p = fifoPath();
    Fifo.create(p);
    const reader = await Fifo.openReader(p, { recordSize: 64 });
    const writer = (id: number) =>
      runNode(
        `
        import { Fifo } from '@shmkit/sync';
        const w = await Fifo.openWriter(${JSON.stringify(p)});
        for (let i = 0; i < 200; i++) await w.notify(Buffer.alloc(64, ${id}));
        w.close();
      `,
        { cwd: pkgDir },
      );
    // Our own write end keeps the stream open until every child is done: a
    // child that finishes before another opens would otherwise end it.
    const guard = await Fifo.openWriter(p);
    const results = Promise.all([writer(1), writer(2), writer(3)]).finally(() => guard.close());
    const counts = new Map<number, number>();
    for await (const record of reader) {
      expect(record.every((b) => b === record[0])).toBe(true);
      counts.set(record[0]!, (counts.get(record[0]!) ?? 0) + 1);
    }
    for (const r of await results) expect(r.stderr).toBe('');
    expect(Object.fromEntries(counts)).toEqual({ 1: 200, 2: 200, 3: 200 });
    expect(reader.ended).toBe(true);
    await expect(reader.wait()).rejects.toMatchObject({ code: 'ERR_SHMKIT_FIFO_ENDED' });
    reader.close();
    Fifo.unlink(p);
  });

  it('keepAlive readers outlive their writers; timeout, abort and close reject waits', async () => {
    const p = fifoPath();
    Fifo.create(p);
    const reader = await Fifo.openReader(p, { keepAlive: true });
    for (let round = 1; round <= 2; round++) {
      const w = await Fifo.openWriter(p, { waitForReader: false });
      await w.notify();
      w.close();
      expect(int32(await reader.wait({ timeout: 5000 }))).toBe(1);
    }
    await expect(reader.wait({ timeout: 20 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const controller = new AbortController();
    const aborted = reader.wait({ signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    const pending = reader.wait();
    reader.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
    expect(reader.ended).toBe(true);
    Fifo.unlink(p);
  });

  it("emits 'record' events while a listener is attached", async () => {
    const p = fifoPath();
    Fifo.create(p);
    const reader = await Fifo.openReader(p, { recordSize: 2 });
    const writer = await Fifo.openWriter(p);
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => reader.on('end', resolve));
    reader.on('record', (r: Buffer) => seen.push(r.toString()));
    await writer.notify('abcd');
    await writer.notify('ef');
    writer.close();
    await done;
    expect(seen).toEqual(['ab', 'cd', 'ef']);
    reader.close();
    Fifo.unlink(p);
  });

  it('notify rejects with EPIPE once every reader is gone', async () => {
    const p = fifoPath();
    Fifo.create(p);
    const reader = await Fifo.openReader(p);
    const writer = await Fifo.openWriter(p);
    reader.close();
    await expect(writer.notify()).rejects.toMatchObject({ code: 'EPIPE' });
    writer.close();
    await expect(writer.notify()).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
    Fifo.unlink(p);
  });
});

describe('C interop', () => {
  const C_NOTIFIER = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = open(argv[1], O_WRONLY); /* blocks until our reader is open */
  if (fd < 0) { perror("open"); return 1; }
  for (int i = 1; i <= 5; i++) {
    if (write(fd, &i, sizeof i) != sizeof i) { perror("write"); return 1; }
  }
  close(fd);
  return 0;
}
`;
  const C_WAITER = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror("open"); return 1; }
  int token;
  ssize_t got;
  while ((got = read(fd, &token, sizeof token)) == sizeof token) printf("token %d\n", token);
  if (got < 0) { perror("read"); return 1; }
  printf("eof\n");
  return 0;
}
`;

  it('a C notifier wakes our reader with C ints', async () => {
    const p = fifoPath();
    Fifo.create(p);
    const reader = await Fifo.openReader(p);
    const c = await run(compileC(C_NOTIFIER), [p]);
    expect(c.stderr).toBe('');
    const values: number[] = [];
    for await (const record of reader) values.push(int32(record));
    expect(values).toEqual([1, 2, 3, 4, 5]);
    reader.close();
    Fifo.unlink(p);
  });

  it('our writer wakes a C reader', async () => {
    const p = fifoPath();
    Fifo.create(p);
    const c = run(compileC(C_WAITER), [p]);
    const writer = await Fifo.openWriter(p, { timeout: 10_000 });
    await writer.notify();
    await writer.notify(Buffer.from(new Int32Array([7]).buffer));
    writer.close();
    const r = await c;
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('token 1\ntoken 7\neof\n');
    Fifo.unlink(p);
  });
});

describe('FIFO waits and their options', () => {
  it('takes timeouts beyond setTimeout range and shares one abort listener', async () => {
    // In a child: setTimeout would turn 2^31 ms into 1 ms (and warn), and
    // twenty waits on one signal would add twenty listeners (and warn).
    const p = fifoPath();
    Fifo.create(p);
    const result = await runNode(
      `import { Fifo } from '@shmkit/sync';
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name));
      const reader = await Fifo.openReader(${JSON.stringify(p)}, { keepAlive: true });
      const settled = [];
      for (const timeout of [2 ** 31, 2 ** 53, 1e33]) {
        reader.wait({ timeout }).then(() => settled.push('resolved'), (e) => settled.push(e.code));
      }
      const controller = new AbortController();
      const waits = Array.from({ length: 20 }, () => reader.wait({ signal: controller.signal }).catch((e) => e.name));
      await new Promise((r) => setTimeout(r, 100));
      controller.abort();
      const aborted = (await Promise.all(waits)).filter((n) => n === 'AbortError').length;
      await new Promise((r) => setTimeout(r, 50));
      console.log(JSON.stringify({ settled, aborted, warnings }));
      reader.close();`,
      { cwd: pkgDir, timeout: 20_000 },
    );
    Fifo.unlink(p);
    expect(result.stderr).toBe('');
    const summary = JSON.parse(result.stdout.trim()) as {
      settled: string[];
      aborted: number;
      warnings: string[];
    };
    // The long waits were still pending when the reader closed.
    expect(summary).toEqual({ settled: [], aborted: 20, warnings: [] });
  });
});
