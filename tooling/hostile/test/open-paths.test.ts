// Every open path meeting what a peer can plant at a name: a FIFO (opening
// one for reading blocks forever), symlinks (to a file, a FIFO, a terminal,
// nowhere, themselves), a directory, a socket, a device, and files too short
// to be what the name promises. Every path must answer at once, with the
// file it was asked for or a coded error, and never map past a file's end.
import { afterAll, describe, expect, it } from 'vitest';
import { isRoot } from '@shmkit/testing';
import { type Attempt, type Expectation, cleanUp, failures } from '../src/harness';

afterAll(cleanUp);

const PLANT = String.raw`
function plant(kind, p) {
  switch (kind) {
    case 'FIFO': cp.execFileSync('mkfifo', [p]); break;
    case 'directory': fs.mkdirSync(p); break;
    case 'empty file': fs.writeFileSync(p, ''); break;
    case '7-byte file': fs.writeFileSync(p, 'garbage'); break;
    case '32 bytes of 0xff': fs.writeFileSync(p, Buffer.alloc(32, 0xff)); break;
    case 'symlink to a regular file': fs.writeFileSync(p + '.target', Buffer.alloc(2 * PAGE)); fs.symlinkSync(p + '.target', p); break;
    case 'symlink to a FIFO': cp.execFileSync('mkfifo', [p + '.target']); fs.symlinkSync(p + '.target', p); break;
    case 'symlink to a terminal': fs.symlinkSync('/dev/tty', p); break;
    case 'dangling symlink': fs.symlinkSync(p + '.target', p); break;
    case 'symlink loop': fs.symlinkSync(p, p); break;
    case 'socket': cp.execFileSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p]); break;
    case 'character device': cp.execFileSync('mknod', [p, 'c', '1', '3']); break;
    default: throw new Error('unknown kind ' + kind);
  }
}
function unplant(p) { for (const q of [p, p + '.target']) fs.rmSync(q, { force: true, recursive: true }); }
`;

const KINDS = [
  'FIFO',
  'directory',
  'empty file',
  '7-byte file',
  '32 bytes of 0xff',
  'symlink to a regular file',
  'symlink to a FIFO',
  'symlink to a terminal',
  'dangling symlink',
  'symlink loop',
  'socket',
  // mknod needs CAP_MKNOD.
  ...(isRoot ? ['character device'] : []),
] as const;
type Kind = (typeof KINDS)[number];

const NOT_REGULAR = 'ERR_SHMKIT_NOT_REGULAR_FILE';

/** What an open that takes only regular files and never follows symlinks must say. */
function noFollowRegular(empty: string, short: string, garbage: string): Record<Kind, Expectation> {
  return {
    FIFO: NOT_REGULAR,
    directory: 'EISDIR',
    'empty file': empty,
    '7-byte file': short,
    '32 bytes of 0xff': garbage,
    'symlink to a regular file': NOT_REGULAR,
    'symlink to a FIFO': NOT_REGULAR,
    'symlink to a terminal': NOT_REGULAR,
    'dangling symlink': NOT_REGULAR,
    'symlink loop': NOT_REGULAR,
    socket: NOT_REGULAR,
    'character device': NOT_REGULAR,
  };
}

interface OpenPath {
  name: string;
  /** Where the planted file goes, from `name` (a unique '/name'). */
  at: string;
  /** The attempt, using `name` and `p`. */
  run: string;
  expect: Record<Kind, Expectation>;
}

const shmPath = "'/dev/shm' + name";
const semPath = "'/dev/shm/sem.' + name.slice(1)";
const tmpPath = "path.join(tmpDir(), 'f')";

const paths: OpenPath[] = [
  {
    name: 'PosixShm.open + map',
    at: shmPath,
    run: 'const shm = PosixShm.open(name); try { const m = shm.map(); touchMapping(m); m.close(); } finally { shm.close(); }',
    expect: noFollowRegular('ERR_SHMKIT_EMPTY', 'ok', 'ok'),
  },
  {
    name: 'PosixShm.open({ readOnly: true }) + map',
    at: shmPath,
    run: 'const shm = PosixShm.open(name, { readOnly: true }); try { const m = shm.map(); touchMapping(m); m.close(); } finally { shm.close(); }',
    expect: noFollowRegular('ERR_SHMKIT_EMPTY', 'ok', 'ok'),
  },
  {
    name: 'PosixShm.create (open or create)',
    at: shmPath,
    run: 'const shm = PosixShm.create(name, { size: PAGE }); try { const m = shm.map(); touchMapping(m); m.close(); } finally { shm.close(); }',
    // An existing object is grown to `size`.
    expect: noFollowRegular('ok', 'ok', 'ok'),
  },
  {
    name: 'PosixShm.create({ exclusive: true })',
    at: shmPath,
    run: 'PosixShm.create(name, { size: PAGE, exclusive: true }).close();',
    expect: Object.fromEntries(KINDS.map((k) => [k, 'EEXIST'])) as Record<Kind, Expectation>,
  },
  {
    name: 'NamedSemaphore.open',
    at: semPath,
    run: 'const s = sync.NamedSemaphore.open(name); s.post(); s.tryWait(); s.close();',
    expect: noFollowRegular(
      'ERR_SHMKIT_NOT_INITIALIZED',
      'ERR_SHMKIT_NOT_INITIALIZED',
      'ERR_SHMKIT_NOT_INITIALIZED',
    ),
  },
  {
    name: 'NamedSemaphore.create (open or create)',
    at: semPath,
    run: 'const s = sync.NamedSemaphore.create(name, { value: 1 }); s.tryWait(); s.close();',
    expect: noFollowRegular(
      'ERR_SHMKIT_NOT_INITIALIZED',
      'ERR_SHMKIT_NOT_INITIALIZED',
      'ERR_SHMKIT_NOT_INITIALIZED',
    ),
  },
  {
    name: 'mapFile',
    at: tmpPath,
    run: 'const m = mapFile(p); touchMapping(m); m.close();',
    expect: {
      FIFO: NOT_REGULAR,
      directory: 'EISDIR',
      'empty file': 'ERR_SHMKIT_EMPTY',
      '7-byte file': 'ok',
      '32 bytes of 0xff': 'ok',
      'symlink to a regular file': 'ok',
      'symlink to a FIFO': NOT_REGULAR,
      'symlink to a terminal': NOT_REGULAR,
      'dangling symlink': 'ENOENT',
      'symlink loop': 'ELOOP',
      socket: NOT_REGULAR,
      'character device': NOT_REGULAR,
    },
  },
  {
    name: 'mapFile({ readOnly: true })',
    at: tmpPath,
    run: 'const m = mapFile(p, { readOnly: true }); touchMapping(m); m.close();',
    expect: {
      FIFO: NOT_REGULAR,
      directory: 'EISDIR',
      'empty file': 'ERR_SHMKIT_EMPTY',
      '7-byte file': 'ok',
      '32 bytes of 0xff': 'ok',
      'symlink to a regular file': 'ok',
      'symlink to a FIFO': NOT_REGULAR,
      'symlink to a terminal': NOT_REGULAR,
      'dangling symlink': 'ENOENT',
      'symlink loop': 'ELOOP',
      socket: NOT_REGULAR,
      'character device': NOT_REGULAR,
    },
  },
  {
    name: 'mapFile({ size }) (creates)',
    at: tmpPath,
    run: "const m = mapFile(p, { size: 2 * PAGE }); touchMapping(m); m.close(); if (fs.existsSync(p + '.target') && fs.lstatSync(p).isSymbolicLink() && fs.statSync(p + '.target').size > 0 && fs.readFileSync(p + '.target').length !== 2 * PAGE) throw new Error('wrote through the link');",
    expect: {
      FIFO: NOT_REGULAR,
      directory: 'EISDIR',
      'empty file': 'ok',
      '7-byte file': 'ok',
      '32 bytes of 0xff': 'ok',
      'symlink to a regular file': 'ok',
      'symlink to a FIFO': NOT_REGULAR,
      'symlink to a terminal': NOT_REGULAR,
      // Never creates a file through a planted link.
      'dangling symlink': NOT_REGULAR,
      'symlink loop': 'ELOOP',
      socket: NOT_REGULAR,
      'character device': NOT_REGULAR,
    },
  },
  {
    name: 'internal mapFd of an fd opened on it',
    at: tmpPath,
    run: "const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); try { const m = internal.adoptMapping(native.mapFd(fd, 0, PAGE, { shared: false }), { kind: 'file' }); touchMapping(m); m.close(); } finally { fs.closeSync(fd); }",
    expect: {
      FIFO: NOT_REGULAR,
      directory: NOT_REGULAR,
      'empty file': 'ERR_SHMKIT_EMPTY',
      '7-byte file': 'ERR_SHMKIT_BEYOND_EOF',
      '32 bytes of 0xff': 'ERR_SHMKIT_BEYOND_EOF',
      'symlink to a regular file': 'ok',
      'symlink to a FIFO': NOT_REGULAR,
      'symlink to a terminal': ['ENXIO', 'ENOENT', NOT_REGULAR],
      'dangling symlink': 'ENOENT',
      'symlink loop': 'ELOOP',
      socket: 'ENXIO',
      'character device': NOT_REGULAR,
    },
  },
  {
    name: 'Fifo.openReader',
    at: tmpPath,
    run: 'const r = await sync.Fifo.openReader(p); r.close();',
    expect: {
      FIFO: 'ok',
      directory: 'EISDIR',
      'empty file': 'ERR_INVALID_ARG_VALUE',
      '7-byte file': 'ERR_INVALID_ARG_VALUE',
      '32 bytes of 0xff': 'ERR_INVALID_ARG_VALUE',
      'symlink to a regular file': 'ERR_INVALID_ARG_VALUE',
      'symlink to a FIFO': 'ok',
      'symlink to a terminal': 'ERR_INVALID_ARG_VALUE',
      'dangling symlink': 'ENOENT',
      'symlink loop': 'ELOOP',
      socket: 'ERR_INVALID_ARG_VALUE',
      'character device': 'ERR_INVALID_ARG_VALUE',
    },
  },
  {
    name: 'Fifo.openWriter({ waitForReader: false })',
    at: tmpPath,
    run: 'const w = await sync.Fifo.openWriter(p, { waitForReader: false }); w.close();',
    expect: {
      FIFO: 'ENXIO',
      directory: 'EISDIR',
      'empty file': 'ERR_INVALID_ARG_VALUE',
      '7-byte file': 'ERR_INVALID_ARG_VALUE',
      '32 bytes of 0xff': 'ERR_INVALID_ARG_VALUE',
      'symlink to a regular file': 'ERR_INVALID_ARG_VALUE',
      'symlink to a FIFO': 'ENXIO',
      'symlink to a terminal': 'ERR_INVALID_ARG_VALUE',
      'dangling symlink': 'ENOENT',
      'symlink loop': 'ELOOP',
      socket: 'ERR_INVALID_ARG_VALUE',
      'character device': 'ERR_INVALID_ARG_VALUE',
    },
  },
  {
    name: 'Fifo.create({ reuse: true })',
    at: tmpPath,
    run: 'return sync.Fifo.create(p, { reuse: true });',
    expect: {
      FIFO: 'ok',
      ...Object.fromEntries(KINDS.filter((k) => k !== 'FIFO').map((k) => [k, 'EEXIST'])),
    } as Record<Kind, Expectation>,
  },
  {
    name: 'Fifo.unlink',
    at: tmpPath,
    run: 'sync.Fifo.unlink(p);',
    expect: {
      FIFO: 'ok',
      ...Object.fromEntries(
        KINDS.filter((k) => k !== 'FIFO').map((k) => [k, 'ERR_INVALID_ARG_VALUE']),
      ),
    } as Record<Kind, Expectation>,
  },
  {
    name: 'ftok',
    at: tmpPath,
    run: 'return ftok(p, 1);',
    expect: {
      ...Object.fromEntries(KINDS.map((k) => [k, 'ok'])),
      'dangling symlink': 'ENOENT',
      'symlink loop': 'ELOOP',
    } as Record<Kind, Expectation>,
  },
];

function attempts(open: OpenPath): Attempt[] {
  return KINDS.map((kind) => ({
    name: `${open.name} on ${kind}`,
    run: `const name = unique('open'); const p = ${open.at}; plant(${JSON.stringify(kind)}, p);
try { ${open.run} } finally { unplant(p); }`,
    expect: open.expect[kind],
  }));
}

describe('every open path meets what a peer can plant', () => {
  it.each(paths.map((p) => [p.name, p] as const))('%s', async (_name, open) => {
    expect(await failures(attempts(open), { prelude: PLANT, attemptTimeout: 20_000 })).toEqual([]);
  });

  it('PosixShm.list lists objects around hostile entries without opening them', async () => {
    const found = await failures(
      [
        {
          name: 'list',
          run: `const planted = ['FIFO', 'directory', 'dangling symlink', 'symlink to a FIFO', 'socket'].map((k, i) => { const p = '/dev/shm' + unique('list' + i); plant(k, p); return p; });
const name = unique('listed'); const shm = PosixShm.create(name, { size: PAGE, exclusive: true });
try {
  const listed = PosixShm.list().map((e) => e.name);
  if (!listed.includes(name)) throw new Error('missing ' + name);
  for (const p of planted) if (listed.includes(p.slice('/dev/shm'.length))) throw new Error('listed ' + p);
} finally { shm.close(); PosixShm.unlink(name); planted.forEach(unplant); }`,
          expect: 'ok',
        },
      ],
      { prelude: PLANT },
    );
    expect(found).toEqual([]);
  });
});
