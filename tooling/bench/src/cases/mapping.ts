// Mapping costs: map+close of one page, and a sequential scan of a large
// file through mmap against fs.readFileSync and chunked fs.readSync.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { mapAnonymous } from '@shmkit/core';
import { adoptMapping, native } from '@shmkit/core/internal';
import { compileProgram } from '../c/cc.js';
import { MAPCLOSE } from '../c/sources.js';
import { sampleSum } from '../checksum.js';
import { makePatterns, CHUNK } from '../patterns.js';
import type { BenchCase, Context, Outcome } from '../registry.js';
import { summarize } from '../stats.js';
import { nowNs } from '../harness.js';

/** The scanned file, written once per run and shared by the scan cases. */
interface ScanFile {
  path: string;
  size: number;
  expected: number;
}

let scanFile: ScanFile | undefined;

function getScanFile(ctx: Context): ScanFile {
  if (scanFile !== undefined && scanFile.size === ctx.scale.scanBytes) return scanFile;
  const path = join(ctx.tmpDir, 'scan.bin');
  const patterns = makePatterns();
  const fd = openSync(path, 'w', 0o600);
  let expected = 0;
  try {
    for (let k = 0, done = 0; done < ctx.scale.scanBytes; k++, done += CHUNK) {
      const p = patterns[k % patterns.length] as Buffer;
      writeSync(fd, p);
      expected = (expected + sampleSum(new Int32Array(p.buffer, p.byteOffset, CHUNK / 4))) | 0;
    }
  } finally {
    closeSync(fd);
  }
  scanFile = { path, size: ctx.scale.scanBytes, expected };
  return scanFile;
}

/** Times `scan()` (which returns the checksum) and reports GB/s; the first run warms the page cache. */
function scanOutcome(ctx: Context, scan: (f: ScanFile) => number): Outcome {
  const f = getScanFile(ctx);
  const rates: number[] = [];
  for (let rep = 0; rep < ctx.scale.bulkRepeats + 1; rep++) {
    const t0 = nowNs();
    const sum = scan(f);
    const t = nowNs() - t0;
    if (sum !== f.expected) throw new Error(`scan checksum ${sum}, expected ${f.expected}`);
    if (rep > 0) rates.push(f.size / t);
  }
  const s = summarize(rates);
  return { kind: 'measured', value: s.median, samples: s.count };
}

function scanMapped(f: ScanFile, populate: boolean): number {
  // MAP_SHARED over an O_RDWR fd: the page-cache pages themselves, no copy. (A private
  // writable mapping would copy every page under MAP_POPULATE, which pre-faults for write.)
  const fd = openSync(f.path, 'r+');
  try {
    const m = adoptMapping(native.mapFd(fd, 0, f.size, { shared: true, populate }), {
      kind: 'file',
    });
    try {
      return sampleSum(m.int32Array());
    } finally {
      m.close();
    }
  } finally {
    closeSync(fd);
  }
}

/** The C map+close floor, measured once per run for both rows. */
let cFloor: { anon: number; fd: number } | undefined;

function cMapClose(ctx: Context): { anon: number; fd: number } {
  if (cFloor !== undefined) return cFloor;
  const path = join(ctx.tmpDir, 'map-page-c.bin');
  const fd = openSync(path, 'w+', 0o600);
  writeSync(fd, Buffer.alloc(4096, 1));
  closeSync(fd);
  const r = spawnSync(
    compileProgram(MAPCLOSE),
    [path, String(ctx.scale.mapOps * ctx.scale.batches)],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (r.status !== 0) throw new Error(`mapclose failed: ${r.stderr || String(r.error)}`);
  cFloor = JSON.parse(r.stdout) as { anon: number; fd: number };
  return cFloor;
}

/**
 * Creates (without a name, so nothing can be left behind) and sizes a POSIX
 * shared memory object of ctx.scale.shmBytes, `reserve` deciding whether
 * every page is allocated up front; ns per create, median of 7.
 */
function shmCreateOutcome(ctx: Context, reserve: boolean): Outcome {
  const times: number[] = [];
  for (let rep = 0; rep < 8; rep++) {
    const t0 = nowNs();
    const opened = native.posixShmCreateUnnamed('/shmkit-bench', 0o600);
    native.posixShmResize(opened.handle, ctx.scale.shmBytes, reserve);
    const t = nowNs() - t0;
    native.posixShmClose(opened.handle);
    if (rep > 0) times.push(t);
  }
  const s = summarize(times);
  return { kind: 'measured', value: s.median, samples: s.count };
}

export const mappingCases: BenchCase[] = [
  {
    id: 'shm.create-sparse',
    group: 'mapping',
    title: 'PosixShm.create of a 256 MiB object, reserve: false (sparse)',
    unit: 'ns',
    run: async (ctx) => shmCreateOutcome(ctx, false),
  },
  {
    id: 'shm.create-reserved',
    group: 'mapping',
    title: 'PosixShm.create of a 256 MiB object, pages reserved (the default)',
    unit: 'ns',
    baseline: 'shm.create-sparse',
    run: async (ctx) => shmCreateOutcome(ctx, true),
  },
  {
    id: 'copy.read',
    group: 'mapping',
    title: 'mapping.read(offset, 4096): a new Buffer per copy',
    unit: 'ns',
    micro: (ctx) => {
      const m = mapAnonymous(1 << 20);
      return {
        opsPerBatch: ctx.scale.opsPerBatch / 10,
        batch: (n) => {
          for (let i = 0; i < n; i++) m.read((i & 255) * 4096, 4096);
        },
        dispose: () => m.close(),
      };
    },
  },
  {
    id: 'copy.readinto',
    group: 'mapping',
    title: 'mapping.readInto(buffer, offset): into one reused buffer',
    unit: 'ns',
    baseline: 'copy.read',
    micro: (ctx) => {
      const m = mapAnonymous(1 << 20);
      const target = Buffer.alloc(4096);
      return {
        opsPerBatch: ctx.scale.opsPerBatch / 10,
        batch: (n) => {
          for (let i = 0; i < n; i++) m.readInto(target, (i & 255) * 4096);
        },
        dispose: () => m.close(),
      };
    },
  },
  {
    id: 'map.c-anonymous',
    group: 'mapping',
    title: 'C mmap(4096, MAP_SHARED|MAP_ANONYMOUS) + munmap (floor)',
    unit: 'ns',
    bound: 'floor',
    run: async (ctx) => ({ kind: 'measured', value: cMapClose(ctx).anon, samples: 1 }),
  },
  {
    id: 'map.c-fd',
    group: 'mapping',
    title: 'C mmap of a file page + munmap (floor)',
    unit: 'ns',
    bound: 'floor',
    run: async (ctx) => ({ kind: 'measured', value: cMapClose(ctx).fd, samples: 1 }),
  },
  {
    id: 'map.anonymous',
    group: 'mapping',
    title: 'mapAnonymous(4096) + close()',
    unit: 'ns',
    baseline: 'map.c-anonymous',
    micro: (ctx) => ({
      opsPerBatch: ctx.scale.mapOps,
      batch: (n) => {
        for (let i = 0; i < n; i++) mapAnonymous(4096).close();
      },
    }),
  },
  {
    id: 'map.fd',
    group: 'mapping',
    title: '`native.mapFd` of a file page + mappingClose',
    unit: 'ns',
    baseline: 'map.c-fd',
    micro: (ctx) => {
      const path = join(ctx.tmpDir, 'map-page.bin');
      const fd = openSync(path, 'w+', 0o600);
      writeSync(fd, Buffer.alloc(4096, 1));
      return {
        opsPerBatch: ctx.scale.mapOps,
        batch: (n) => {
          for (let i = 0; i < n; i++) {
            const m = native.mapFd(fd, 0, 4096, { shared: true });
            native.mappingClose(m[0], m[1]);
          }
        },
        dispose: () => closeSync(fd),
      };
    },
  },
  {
    id: 'scan.readfilesync',
    group: 'mapping',
    title: 'file scan: fs.readFileSync, then sum',
    unit: 'GB/s',
    run: async (ctx) =>
      scanOutcome(ctx, (f) => {
        const b = readFileSync(f.path);
        if (b.byteOffset % 4 !== 0) throw new Error('unaligned buffer');
        return sampleSum(new Int32Array(b.buffer, b.byteOffset, b.length / 4));
      }),
  },
  {
    id: 'scan.readsync',
    group: 'mapping',
    title: 'file scan: fs.readSync in 1 MiB chunks',
    unit: 'GB/s',
    baseline: 'scan.readfilesync',
    run: async (ctx) => {
      const buf = Buffer.allocUnsafeSlow(CHUNK);
      const words = new Int32Array(buf.buffer, buf.byteOffset, CHUNK / 4);
      return scanOutcome(ctx, (f) => {
        const fd = openSync(f.path, 'r');
        let sum = 0;
        try {
          for (let pos = 0; pos < f.size; pos += CHUNK) {
            if (readSync(fd, buf, 0, CHUNK, pos) !== CHUNK) throw new Error('short read');
            sum = (sum + sampleSum(words)) | 0;
          }
        } finally {
          closeSync(fd);
        }
        return sum;
      });
    },
  },
  {
    id: 'scan.mmap',
    group: 'mapping',
    title: 'file scan: mmap (`mapFd`), page faults on touch',
    unit: 'GB/s',
    baseline: 'scan.readfilesync',
    run: async (ctx) => scanOutcome(ctx, (f) => scanMapped(f, false)),
  },
  {
    id: 'scan.mmap-populate',
    group: 'mapping',
    title: 'file scan: mmap with MAP_POPULATE',
    unit: 'GB/s',
    baseline: 'scan.readfilesync',
    run: async (ctx) => scanOutcome(ctx, (f) => scanMapped(f, true)),
  },
];
