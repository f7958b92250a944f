// FifoWriter with `await using`: disposal waits until queued records are written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Fifo } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'shmkit-fifo-dispose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function fifo(): string {
  const path = join(dir, `f${++n}`);
  Fifo.create(path);
  return path;
}

describe('FifoWriter [Symbol.asyncDispose]', () => {
  it('resolves once every queued record is in the pipe, more than the pipe holds', async () => {
    const path = fifo();
    const reader = await Fifo.openReader(path, { recordSize: 4096 });
    const records: Buffer[] = [];
    const drained = (async () => {
      for await (const record of reader) records.push(record);
    })();
    let written = 0;
    {
      await using writer = await Fifo.openWriter(path);
      // 64 records of 4 KiB: four times what a pipe buffers by default.
      for (let i = 0; i < 64; i++) void writer.notify(Buffer.alloc(4096, i)).then(() => written++);
      expect(written).toBe(0);
    }
    // The block ended only once every record had been handed to the pipe.
    expect(written).toBe(64);
    await drained;
    expect(records.length).toBe(64);
    expect(records.map((r) => r[0])).toEqual([...Array(64).keys()]);
    expect(reader.ended).toBe(true);
    reader.close();
  });

  it('a second dispose, or one after close(), does nothing; notify afterwards is ERR_SHMKIT_CLOSED', async () => {
    const path = fifo();
    const reader = await Fifo.openReader(path);
    const writer = await Fifo.openWriter(path);
    const other = await Fifo.openWriter(path);
    other.close();
    await other[Symbol.asyncDispose]();
    await writer.notify();
    await writer[Symbol.asyncDispose]();
    await writer[Symbol.asyncDispose]();
    expect([writer.closed, other.closed]).toEqual([true, true]);
    await expect(writer.notify()).rejects.toMatchObject({ code: 'ERR_SHMKIT_CLOSED' });
    expect((await reader.wait({ timeout: 1000 })).readInt32LE(0)).toBe(1);
    reader.close();
  });

  it('rejects with EPIPE when queued records cannot be written because every reader left', async () => {
    const path = fifo();
    const reader = await Fifo.openReader(path, { recordSize: 4096 });
    const writer = await Fifo.openWriter(path);
    reader.close();
    // More than the pipe holds, so records are still queued when we dispose.
    const writes = Array.from({ length: 32 }, () =>
      writer.notify(Buffer.alloc(4096)).catch((e: unknown) => e),
    );
    await expect(writer[Symbol.asyncDispose]()).rejects.toMatchObject({ code: 'EPIPE' });
    expect(
      (await Promise.all(writes)).some((e) => (e as { code?: string })?.code === 'EPIPE'),
    ).toBe(true);
  });
});
