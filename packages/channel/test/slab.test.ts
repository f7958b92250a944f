// The copies small messages become: real Buffers, each its own bytes,
// with or without Node's Buffer class (the species of Buffer) reachable.
import { isDeepStrictEqual } from 'node:util';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as SlabModule from '../src/slab';

/** 1,024 bytes counting up from 1, as the words a receive reads them from. */
function source(): Int32Array {
  const bytes = new Uint8Array(1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i + 1) & 0xff;
  return new Int32Array(bytes.buffer);
}

async function freshSlabModule(): Promise<typeof SlabModule> {
  vi.resetModules();
  return import('../src/slab');
}

describe.each([
  ['through Buffer[Symbol.species]', false],
  ['through Buffer.from, when the species is not Node’s Buffer class', true],
])('Slab.copy %s', (_, hideSpecies) => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function slabModule(): Promise<typeof SlabModule> {
    if (hideSpecies) {
      // A Node without it (or a program that replaced it): the module must not trust it.
      vi.spyOn(
        Buffer as unknown as { [Symbol.species]: unknown },
        Symbol.species,
        'get',
      ).mockReturnValue(Uint8Array);
    }
    return freshSlabModule();
  }

  it('returns Buffers equal to Buffer.from of the same bytes, at any length up to SMALL_MESSAGE', async () => {
    const { Slab, SMALL_MESSAGE } = await slabModule();
    const slab = new Slab();
    const words = source();
    const bytes = new Uint8Array(words.buffer);
    for (let length = 0; length <= SMALL_MESSAGE; length++) {
      const at = 8 * (length % 16);
      const copy = slab.copy(words, at, length);
      expect(Buffer.isBuffer(copy)).toBe(true);
      expect(copy).toBeInstanceOf(Buffer);
      expect(Object.getPrototypeOf(copy)).toBe(Buffer.prototype);
      expect(copy.length).toBe(length);
      expect(isDeepStrictEqual(copy, Buffer.from(bytes.subarray(at, at + length)))).toBe(true);
    }
  });

  it('gives every copy bytes of its own, across slabs, and copies outlive the source', async () => {
    const { Slab } = await slabModule();
    const slab = new Slab();
    const words = new Int32Array(16);
    const copies: Buffer[] = [];
    // 64 B each: 8 KiB slabs hold 128, so this spans several.
    for (let i = 0; i < 1000; i++) {
      words.fill(i);
      copies.push(slab.copy(words, 0, 64));
    }
    words.fill(-1);
    copies.forEach((copy, i) => {
      expect(new Int32Array(copy.buffer, copy.byteOffset, 16).every((w) => w === i)).toBe(true);
    });
    expect(new Set(copies.map((c) => c.buffer)).size).toBeGreaterThan(1);
  });

  it('keeps a slab whole when a copy is posted with a transfer list', async () => {
    const { Slab } = await slabModule();
    const slab = new Slab();
    const words = source();
    const first = slab.copy(words, 0, 8);
    const second = slab.copy(words, 8, 8);
    const { port1, port2 } = new MessageChannel();
    try {
      // Node 20 copies an untransferable buffer; later versions throw DataCloneError.
      try {
        port1.postMessage(first, [first.buffer as ArrayBuffer]);
      } catch (error) {
        expect((error as Error).name).toBe('DataCloneError');
      }
      expect(first.length).toBe(8);
      expect([...second]).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    } finally {
      port1.close();
      port2.close();
    }
  });
});
