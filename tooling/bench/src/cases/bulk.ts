// Bulk throughput between two node processes over a Unix socket stream, the
// ceiling of the shared-memory ring (its producer's copies alone), and a C
// memcpy of the same chunks for information. The ring itself lives in
// cases/sync-bulk.ts.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { compileProgram } from '../c/cc.js';
import { MEMCPY } from '../c/sources.js';
import { StreamSum } from '../checksum.js';
import { nowNs } from '../harness.js';
import { CHUNK, expectedSum, makePatterns, PATTERNS, SLOTS } from '../patterns.js';
import { reap, spawnPeer, waitForExit, waitForLine } from '../proc.js';
import type { BenchCase, Context } from '../registry.js';
import { mapShared, sharedPath, unlinkShared } from '../shared.js';
import { summarize } from '../stats.js';
import { RING_BYTES, type ProducerArgs } from './sync-bulk.js';

/** One run of the ring producer's copies with no consumer, in a fresh process on a fresh file: GB/s. */
async function copyAlone(total: number): Promise<number> {
  const path = sharedPath('ring-ceiling');
  mapShared(path, RING_BYTES, true).close(); // sized like the ring's file; the child maps it
  const child = spawnPeer('ring-copy-alone', { path, total } satisfies ProducerArgs);
  try {
    const line = await waitForLine(child, /^\{/, 120_000);
    const code = await waitForExit(child);
    if (code !== 0) throw new Error(`ring-copy-alone exited with ${String(code)}`);
    return total / (JSON.parse(line) as { ns: number }).ns;
  } finally {
    await reap([child]);
    unlinkShared(path);
  }
}

/** The median of `repeats` runs of `once` after one warm-up run. */
async function medianRate(
  ctx: Context,
  once: () => Promise<number>,
): Promise<{ value: number; samples: number }> {
  const rates: number[] = [];
  for (let rep = 0; rep < ctx.scale.bulkRepeats + 1; rep++) {
    const rate = await once();
    if (rep > 0) rates.push(rate);
  }
  const s = summarize(rates);
  return { value: s.median, samples: s.count };
}

export const bulkCases: BenchCase[] = [
  {
    id: 'bulk.copy-alone',
    group: 'bulk',
    title:
      "the ring producer's copies alone: TypedArray.set of the same chunks into the same slots (ceiling)",
    unit: 'GB/s',
    bound: 'ceiling',
    // Alternates with the ring's passes: memory bandwidth on a shared host
    // swings by 2x from minute to minute, and a ceiling measured at another
    // moment than the ring is no ceiling.
    interleave: true,
    run: async (ctx) => ({
      kind: 'measured',
      ...(await medianRate(ctx, () => copyAlone(ctx.scale.bulkBytes))),
    }),
  },
  {
    id: 'bulk.c-memcpy',
    group: 'bulk',
    // glibc's memcpy is not the copy the ring does (V8's TypedArray.set
    // is), so it frames nothing; it shows what a C program's copy costs.
    title: 'C memcpy of 16 x 1 MiB chunks into a 4 x 1 MiB ring (information)',
    unit: 'GB/s',
    run: async (ctx) => {
      const bin = compileProgram(MEMCPY);
      const repeats = ctx.scale.bulkRepeats + 1;
      const r = spawnSync(
        bin,
        [
          String(ctx.scale.bulkBytes),
          String(CHUNK),
          String(SLOTS),
          String(PATTERNS),
          String(repeats),
        ],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      if (r.status !== 0) throw new Error(`memcpy failed: ${r.stderr || String(r.error)}`);
      const { ns } = JSON.parse(r.stdout) as { ns: number[] };
      const s = summarize(ns.slice(1).map((t) => ctx.scale.bulkBytes / t));
      return { kind: 'measured', value: s.median, samples: s.count };
    },
  },
  {
    id: 'bulk.uds',
    group: 'bulk',
    title: 'Unix domain socket stream (net), checksummed',
    unit: 'GB/s',
    baseline: 'bulk.copy-alone',
    run: async (ctx) => {
      const total = ctx.scale.bulkBytes;
      const expected = expectedSum(makePatterns(), total);
      const path = join(ctx.tmpDir, 'bulk.sock');
      const server = createServer();
      server.listen(path);
      await once(server, 'listening');
      const rates: number[] = [];
      for (let rep = 0; rep < ctx.scale.bulkRepeats + 1; rep++) {
        const child = spawnPeer('uds-send', { path, total });
        try {
          const [socket] = (await once(server, 'connection')) as [Socket];
          const sum = new StreamSum();
          const t0 = nowNs();
          socket.write('g');
          socket.on('data', (d: Buffer) => sum.add(d));
          await once(socket, 'end');
          const t = nowNs() - t0;
          socket.destroy();
          if (sum.position !== total || sum.sum !== expected) {
            throw new Error(
              `received ${sum.position} bytes, checksum ${sum.sum}, expected ${total} / ${expected}`,
            );
          }
          if (rep > 0) rates.push(total / t); // the first transfer warms up
        } finally {
          await reap([child]);
        }
      }
      server.close();
      const s = summarize(rates);
      return { kind: 'measured', value: s.median, samples: s.count };
    },
  },
];

export const bulkPeers: Record<string, (args: unknown) => Promise<void>> = {
  'uds-send': async (args) => {
    const { path, total } = args as { path: string; total: number };
    const patterns = makePatterns();
    const socket = createConnection(path);
    await once(socket, 'data'); // the go byte
    for (let k = 0, sent = 0; sent < total; k++, sent += CHUNK) {
      if (!socket.write(patterns[k % patterns.length] as Buffer)) await once(socket, 'drain');
    }
    socket.end();
    await once(socket, 'close');
  },
};
