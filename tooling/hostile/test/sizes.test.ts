// Every mapping size boundary: 0, 1, a page and around it, 2^31 and 2^32
// (the old and the Node 20 ArrayBuffer limits), just over 2^32, far above,
// and past what a JS number holds; offsets at and past the end of files and
// objects; windows at every edge. Each mapping that succeeds is touched at
// its first and last byte through every buffer it offers.
import { afterAll, describe, expect, it } from 'vitest';
import { type Attempt, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

/** Touches byte 0 and the last byte of `m` through windows, and checks `buffer`. */
const PROBE = String.raw`
function probe(m) {
  const len = m.byteLength;
  let buffer;
  try { buffer = m.buffer.byteLength; } catch (e) { if (typeof e?.code !== 'string') throw e; buffer = e.code; }
  if (buffer === len && len > 0) { const b = new Uint8Array(m.buffer); b[0] = 1; b[len - 1] = 2; }
  if (!m.readOnly) {
    const head = new Uint8Array(m.window(0, Math.min(len, 8))); head[0] = 3;
    const lastStart = Math.max(0, Math.floor((len - 1) / 8) * 8);
    const tail = new Uint8Array(m.window(lastStart)); tail[tail.length - 1] = 4;
    if (m.read(len - 1, 1)[0] !== 4) throw new Error('the window at the end does not see the mapping');
  } else {
    m.read(len - 1, 1);
  }
  m.close();
  return { len, buffer };
}
`;

const K = 2 ** 32;
const anonymousSizes: [string, number, string | readonly string[]][] = [
  ['0', 0, 'ERR_OUT_OF_RANGE'],
  ['1', 1, 'ok'],
  ['page - 1', -1, 'ok'],
  ['page', -2, 'ok'],
  ['2^31 - 1', 2 ** 31 - 1, 'ok'],
  ['2^31', 2 ** 31, 'ok'],
  ['2^32 - 1', K - 1, 'ok'],
  ['2^32', K, 'ok'],
  ['2^32 + page', -3, 'ok'],
  ['2^33', 2 ** 33, ['ok', 'ENOMEM']],
  ['2^40', 2 ** 40, ['ok', 'ENOMEM']],
  ['2^47', 2 ** 47, 'ENOMEM'],
  ['2^53 - 1', Number.MAX_SAFE_INTEGER, 'ENOMEM'],
  ['2^53', 2 ** 53, 'ERR_OUT_OF_RANGE'],
  ['1.5', 1.5, 'ERR_OUT_OF_RANGE'],
  ['-1', -4, 'ERR_OUT_OF_RANGE'],
];
/** Sizes relative to the page size, which the child knows. */
const sizeExpr = (n: number) =>
  n === -1
    ? 'PAGE - 1'
    : n === -2
      ? 'PAGE'
      : n === -3
        ? `${K} + PAGE`
        : n === -4
          ? '-1'
          : String(n);

describe('mapping size boundaries', () => {
  it('mapAnonymous at every boundary, shared and private', async () => {
    const attempts: Attempt[] = [];
    for (const shared of [true, false]) {
      for (const [label, n, expect] of anonymousSizes) {
        attempts.push({
          name: `mapAnonymous(${label}, { shared: ${shared} })`,
          run: `return probe(mapAnonymous(${sizeExpr(n)}, { shared: ${shared} }));`,
          expect,
        });
      }
    }
    attempts.push({
      name: 'a mapping over 2^32 hands out no buffer but windows, each detached by close',
      run: `const m = mapAnonymous(${K} + PAGE);
const code = await codeOf(() => m.buffer);
if (code !== 'ERR_BUFFER_TOO_LARGE') throw new Error('buffer gave ' + code);
const w = m.window(${K} - 8, 8 + PAGE); new Uint8Array(w).fill(7);
const views = [new Uint8Array(m.window(0, 16)), new BigInt64Array(m.window(8, 8)), new Float64Array(w)];
m.close();
if (w.byteLength !== 0 || views.some((v) => v.length !== 0)) throw new Error('a window survived close');
views[0][0] = 1; views[1][0] = 1n; views[2][0] = 1;
return 'detached';`,
      expect: 'ok',
    });
    attempts.push({
      name: 'a window larger than one ArrayBuffer can hold is refused',
      run: `const m = mapAnonymous(${K} + PAGE); try { m.window(0); } finally { m.close(); }`,
      expect: 'ERR_BUFFER_TOO_LARGE',
    });
    attempts.push({
      name: 'reading more than one Buffer can hold is refused, not attempted',
      run: `const m = mapAnonymous(${K} + PAGE); try { m.read(0); } finally { m.close(); }`,
      expect: 'ERR_BUFFER_TOO_LARGE',
    });
    expect(await failures(attempts, { prelude: PROBE })).toEqual([]);
  });

  it('windows at every edge', async () => {
    const cases: [string, string, string | readonly string[]][] = [
      ['window()', 'm.window()', 'ok'],
      ['window(len)', 'm.window(4 * PAGE)', 'ok'],
      ['window(len, 0)', 'm.window(4 * PAGE, 0)', 'ok'],
      ['window(len + 8)', 'm.window(4 * PAGE + 8)', 'ERR_OUT_OF_RANGE'],
      ['window(len - 8, 9)', 'm.window(4 * PAGE - 8, 9)', 'ERR_OUT_OF_RANGE'],
      ['window(4)', 'm.window(4)', 'ERR_INVALID_ARG_VALUE'],
      ['window(-8)', 'm.window(-8)', 'ERR_OUT_OF_RANGE'],
      ['window(0.5)', 'm.window(0.5)', 'ERR_OUT_OF_RANGE'],
      ['window(NaN)', 'm.window(NaN)', 'ERR_OUT_OF_RANGE'],
      ['window(2^53)', 'm.window(2 ** 53)', 'ERR_OUT_OF_RANGE'],
      ['window(2n ** 63n)', 'm.window(2n ** 63n)', 'ERR_OUT_OF_RANGE'],
      ['window(8n, 8n)', 'm.window(8n, 8n)', 'ok'],
      ["window('0')", "m.window('0')", 'ERR_INVALID_ARG_TYPE'],
      ['window(0, -1)', 'm.window(0, -1)', 'ERR_OUT_OF_RANGE'],
      ['window after close', 'm.close(); m.window()', 'ERR_SHMKIT_CLOSED'],
      [
        "window over a page protect('read') made read-only",
        "m.protect('read', { offset: PAGE, length: PAGE }); m.window(PAGE, 8)",
        'ERR_SHMKIT_PROTECTED',
      ],
      [
        'window beside it still works',
        "m.protect('read', { offset: PAGE, length: PAGE }); touch(m.window(2 * PAGE, PAGE))",
        'ok',
      ],
      [
        'protect detaches the windows over the pages it revokes, and only those',
        `const over = m.window(PAGE, 16); const beside = m.window(0, PAGE); m.protect('none', { offset: PAGE, length: PAGE });
if (over.byteLength !== 0) throw new Error('the window over a PROT_NONE page survived');
if (beside.byteLength !== PAGE) throw new Error('the window beside it was detached'); touch(beside);`,
        'ok',
      ],
    ];
    const attempts = cases.map(([label, call, expect]) => ({
      name: label,
      run: `const m = mapAnonymous(4 * PAGE); try { const w = await (async () => { ${call.includes(';') ? call : `return ${call}`} })(); if (w instanceof ArrayBuffer) touch(w); } finally { m.close(); }`,
      expect,
    }));
    attempts.push({
      name: 'window of a read-only shared file mapping',
      run: `const dir = tmpDir(); const f = path.join(dir, 'f'); fs.writeFileSync(f, Buffer.alloc(PAGE)); const m = mapFile(f, { readOnly: true }); try { m.window(); } finally { m.close(); }`,
      expect: 'ERR_SHMKIT_READ_ONLY',
    });
    expect(await failures(attempts, { prelude: PROBE })).toEqual([]);
  });

  it('file mappings at every size, offsets at and past the end', async () => {
    const sizes: [string, string][] = [
      ['1', '1'],
      ['page - 1', 'PAGE - 1'],
      ['page', 'PAGE'],
      ['2^31 - 1', String(2 ** 31 - 1)],
      ['2^32', String(K)],
      ['2^32 + page', `${K} + PAGE`],
      ['2^33 + 1', String(2 ** 33 + 1)],
    ];
    const attempts: Attempt[] = [];
    // Sparse files cost nothing until written (reserve: false, or a tmpfs
    // temp dir would allocate them whole).
    const file = (size: string) =>
      `const dir = tmpDir(); const f = path.join(dir, 'f'); fs.closeSync(fs.openSync(f, 'w')); fs.truncateSync(f, ${size});`;
    for (const [label, size] of sizes) {
      attempts.push(
        {
          name: `mapFile of a ${label}-byte file`,
          run: `${file(size)} return probe(mapFile(f, { reserve: false }));`,
          expect: 'ok',
        },
        {
          name: `read-only mapFile of a ${label}-byte file`,
          run: `${file(size)} return probe(mapFile(f, { readOnly: true }));`,
          expect: 'ok',
        },
        {
          name: `mapFile of a ${label}-byte file from its last page`,
          run: `${file(size)} const s = ${size}; return probe(mapFile(f, { offset: Math.floor((s - 1) / PAGE) * PAGE, reserve: false }));`,
          expect: 'ok',
        },
        {
          name: `mapFile of a ${label}-byte file at the first page past its end`,
          run: `${file(size)} const s = ${size}; mapFile(f, { offset: Math.ceil(s / PAGE) * PAGE });`,
          expect: 'ERR_SHMKIT_BEYOND_EOF',
        },
        {
          name: `mapFile of a ${label}-byte file one byte too long`,
          run: `${file(size)} mapFile(f, { length: ${size} + 1 });`,
          expect: 'ERR_SHMKIT_BEYOND_EOF',
        },
      );
    }
    const small = file('4 * PAGE');
    attempts.push(
      {
        name: 'offset 2^53 (bigint) past the end',
        run: `${small} mapFile(f, { offset: 2n ** 53n });`,
        expect: 'ERR_SHMKIT_BEYOND_EOF',
      },
      {
        name: 'offset 2^63 - 1 (bigint)',
        run: `${small} mapFile(f, { offset: 2n ** 63n - 1n });`,
        expect: 'ERR_INVALID_ARG_VALUE',
      },
      {
        name: 'offset 2^63 (bigint)',
        run: `${small} mapFile(f, { offset: 2n ** 63n });`,
        expect: 'ERR_OUT_OF_RANGE',
      },
      {
        name: 'offset -1',
        run: `${small} mapFile(f, { offset: -1 });`,
        expect: 'ERR_OUT_OF_RANGE',
      },
      {
        name: 'offset -PAGE (bigint)',
        run: `${small} mapFile(f, { offset: -BigInt(PAGE) });`,
        expect: 'ERR_OUT_OF_RANGE',
      },
      { name: 'length 0', run: `${small} mapFile(f, { length: 0 });`, expect: 'ERR_OUT_OF_RANGE' },
      {
        name: 'length 2^53',
        run: `${small} mapFile(f, { length: 2 ** 53 });`,
        expect: 'ERR_OUT_OF_RANGE',
      },
      {
        name: 'size 2^63 - 1 (bigint) on tmpfs, reserved',
        run: "const p = '/dev/shm' + unique('huge'); try { return probe(mapFile(p, { size: 2n ** 63n - 1n, length: PAGE })); } finally { fs.rmSync(p, { force: true }); }",
        expect: ['EFBIG', 'ENOSPC'],
      },
      {
        name: 'size 2^63 - 1 (bigint) on tmpfs, sparse',
        run: "const p = '/dev/shm' + unique('huge'); try { return probe(mapFile(p, { size: 2n ** 63n - 1n, length: PAGE, reserve: false })); } finally { fs.rmSync(p, { force: true }); }",
        expect: ['ok', 'EFBIG'],
      },
      {
        name: 'a file shrunk by another process between two maps',
        run: `${file('4 * PAGE')} const a = mapFile(f); cp.execFileSync('truncate', ['-s', String(PAGE), f]); try { mapFile(f, { offset: PAGE }); } finally { a.close(); }`,
        expect: 'ERR_SHMKIT_BEYOND_EOF',
      },
    );
    expect(await failures(attempts, { prelude: PROBE })).toEqual([]);
  });

  it('POSIX objects and System V segments at their boundaries', async () => {
    const sparseShm = (size: string) =>
      `const name = unique('size'); const p = '/dev/shm' + name; fs.closeSync(fs.openSync(p, 'w', 0o600)); fs.truncateSync(p, ${size}); const shm = PosixShm.open(name);`;
    const attempts: Attempt[] = [
      {
        name: 'PosixShm.create({ size: 0 })',
        run: "PosixShm.create(unique('s'), { size: 0 });",
        expect: 'ERR_OUT_OF_RANGE',
      },
      {
        name: 'PosixShm.create({ size: 2^53 })',
        run: "PosixShm.create(unique('s'), { size: 2 ** 53 });",
        expect: 'ERR_OUT_OF_RANGE',
      },
      {
        name: 'PosixShm.create({ size: 2^53 - 1 }) reserves or fails, never maps',
        run: "const name = unique('s'); try { PosixShm.create(name, { size: 2 ** 53 - 1, exclusive: true }).close(); } finally { try { PosixShm.unlink(name); } catch {} }",
        expect: ['ENOSPC', 'EFBIG'],
      },
      {
        // Copy-on-write: a shared writable mapping would reserve the 4 GiB
        // of holes first (see exhaustion.test.ts), taking real memory.
        name: 'a sparse 2^32 + page object maps whole, through windows',
        run: `${sparseShm(`${K} + PAGE`)} try { return probe(shm.map({ shared: false })); } finally { shm.close(); fs.rmSync(p); }`,
        expect: 'ok',
      },
      {
        name: 'PosixShm.map at the end of the object',
        run: `${sparseShm('4 * PAGE')} try { shm.map({ offset: 4 * PAGE }); } finally { shm.close(); fs.rmSync(p); }`,
        expect: 'ERR_SHMKIT_BEYOND_EOF',
      },
      {
        name: 'PosixShm.map one byte too long',
        run: `${sparseShm('4 * PAGE')} try { shm.map({ length: 4 * PAGE + 1 }); } finally { shm.close(); fs.rmSync(p); }`,
        expect: 'ERR_SHMKIT_BEYOND_EOF',
      },
      {
        name: 'PosixShm.map of a 1-byte object',
        run: `${sparseShm('1')} try { return probe(shm.map()); } finally { shm.close(); fs.rmSync(p); }`,
        expect: 'ok',
      },
      {
        name: 'PosixShm.resize to -1, 1.5, 2^53',
        run: `${sparseShm('PAGE')} try { return [await codeOf(() => shm.resize(-1)), await codeOf(() => shm.resize(1.5)), await codeOf(() => shm.resize(2 ** 53))]; } finally { shm.close(); fs.rmSync(p); }`,
        expect: 'ok',
      },
      {
        name: 'SysvSegment.create({ size: 0 })',
        run: 'SysvSegment.create({ size: 0 });',
        expect: 'ERR_OUT_OF_RANGE',
      },
      {
        name: 'SysvSegment.create({ size: 2^53 - 1 })',
        run: 'const s = SysvSegment.create({ size: 2 ** 53 - 1 }); s.remove();',
        expect: ['EINVAL', 'ENOSPC', 'ENOMEM'],
      },
      ...[
        ['1', '1'],
        ['page', 'PAGE'],
        ['2^32 + page', `${K} + PAGE`],
      ].map(([label, size]) => ({
        name: `a ${label}-byte System V segment attached and touched`,
        run: `const s = SysvSegment.create({ size: ${size} }); try { const a = s.attach(); return probe(a); } finally { s.remove(); }`,
        expect: ['ok', 'EINVAL', 'ENOSPC', 'ENOMEM'],
      })),
    ];
    expect(await failures(attempts, { prelude: PROBE })).toEqual([]);
  });
});
