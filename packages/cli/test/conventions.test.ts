// The conventions every command keeps: --help, --version, exit statuses
// 0/1/2, one-line errors on stderr, colour only where it belongs, tables
// within 80 columns, and output that pipes into head without EPIPE.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bin, ipcmk, pkgDir, posixName, run, shmkit } from './helpers';

const version = (JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8')) as { version: string })
  .version;
const COMMANDS = ['ls', 'inspect', 'rm', 'limits', 'watch'];
// eslint-disable-next-line no-control-regex -- looking for ANSI escapes
const ANSI = /\u001b\[/;

describe('help and version', () => {
  it.each([['--version'], ['-V']])('%s prints the version alone', async (flag) => {
    const result = await shmkit([flag]);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([['--help'], ['-h'], ['help']])('%s lists every command on stdout', async (flag) => {
    const result = await shmkit([flag]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Usage: shmkit <command>/);
    for (const command of COMMANDS)
      expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each(COMMANDS)(
    '%s --help, -h and `help %s` print its usage within 80 columns',
    async (command) => {
      for (const args of [
        [command, '--help'],
        [command, '-h'],
        ['help', command],
        [command, '--bogus', '--help'],
      ]) {
        const result = await shmkit(args);
        expect(result.code, args.join(' ')).toBe(0);
        expect(result.stderr).toBe('');
        expect(result.stdout).toMatch(new RegExp(`^Usage: shmkit ${command}`));
        for (const line of result.stdout.split('\n'))
          expect(line.length, line).toBeLessThanOrEqual(80);
      }
    },
  );
});

// Every command line that cannot be run as written: exit status 2, nothing
// on stdout, one line on stderr that says what and where to read more.
const USAGE_ERRORS: string[][] = [
  [],
  ['frob'],
  ['--frob'],
  ['help', 'frob'],
  ['ls', '--bogus'],
  ['ls', 'extra'],
  ['ls', '--type', 'bogus'],
  ['ls', '--type', 'fifo'],
  ['ls', '--sort', 'bogus'],
  ['ls', '--owner'],
  ['ls', '--json=yes'],
  ['inspect'],
  ['inspect', '/a', '/b'],
  ['inspect', 'nonsense'],
  ['inspect', '0x0'],
  ['inspect', '0x123456789'],
  ['inspect', '4294967296'],
  ['inspect', '/a', '--as', 'bogus'],
  ['inspect', '/a', '--at', '4'],
  ['inspect', '/a', '--as', 'mutex', '--at', 'four'],
  ['inspect', '/a', '--hex=zz'],
  ['inspect', '/a', '--hex', '9:3'],
  ['inspect', '/a', '--type', 'nope'],
  ['inspect', '/tmp/x.fifo', '--type', 'posix-shm'],
  ['rm'],
  ['rm', '--stale', '/a'],
  ['rm', '--stale', '--force'],
  ['rm', '--stale', '--type', 'fifo'],
  ['rm', '--owner', 'root', '/a'],
  ['rm', 'nonsense'],
  ['rm', '--bogus', '/a'],
  ['limits', 'extra'],
  ['limits', '--bogus'],
  ['watch', 'extra'],
  ['watch', '--interval', '0'],
  ['watch', '--interval', 'soon'],
  ['watch', '--sort', 'bogus'],
];

describe('usage errors', () => {
  it.each(USAGE_ERRORS.map((args) => [args.join(' ') || '(nothing)', args]))(
    '`shmkit %s` exits 2 with one line on stderr',
    async (_, args) => {
      const result = await shmkit(args as string[]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^shmkit: .*\(see shmkit( \w+)? --help\)\n$/);
    },
  );

  it('a misaligned --at is a usage error too', async () => {
    const name = posixName();
    writeFileSync(`/dev/shm${name}`, Buffer.alloc(64));
    const result = await shmkit(['inspect', name, '--as', 'mutex', '--at', '2']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--at 2 is not a multiple of 4');
  });

  it('--as and --hex on an object without bytes are usage errors', async () => {
    const id = ipcmk(['-S', '1']);
    for (const extra of [['--as', 'semaphore'], ['--hex']]) {
      const result = await shmkit(['inspect', String(id), '--type', 'sysv-sem', ...extra]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('has no bytes');
    }
  });
});

describe('failures', () => {
  it('exit 1 with one line naming what was not found', async () => {
    const result = await shmkit(['inspect', '/shmkit-cli-no-such-object']);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      'shmkit: inspect: no POSIX shared memory object, named semaphore or message queue is named /shmkit-cli-no-such-object\n',
    );
  });

  it('a system error reads like Node: code, text, syscall, object', async () => {
    const result = await shmkit(['inspect', '/tmp/shmkit-cli-no-such.fifo']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "shmkit: inspect: ENOENT: no such file or directory, lstat '/tmp/shmkit-cli-no-such.fifo'\n",
    );
  });
});

describe('output', () => {
  function withObjects(count: number): string[] {
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = posixName(`shmkit-cli-a-very-long-name-that-cannot-fit-in-a-table-${i}`);
      writeFileSync(`/dev/shm${name}`, 'x');
      names.push(name);
    }
    return names;
  }

  it('tables fit 80 columns when piped, and --wide does not cut', async () => {
    const [name] = withObjects(1);
    const narrow = await shmkit(['ls', '--type', 'posix-shm']);
    expect(narrow.code).toBe(0);
    for (const line of narrow.stdout.trimEnd().split('\n'))
      expect(line.length, line).toBeLessThanOrEqual(80);
    expect(narrow.stdout).toContain('…');
    const wide = await shmkit(['ls', '--type', 'posix-shm', '--wide']);
    expect(wide.stdout).toContain(name);
    const columns = await shmkit(['ls', '--type', 'posix-shm'], { env: { COLUMNS: '200' } });
    expect(columns.stdout).toContain(name);
  });

  it('no colour when piped; FORCE_COLOR forces it, FORCE_COLOR=0 and NO_COLOR keep it off', async () => {
    withObjects(1);
    expect((await shmkit(['ls'])).stdout).not.toMatch(ANSI);
    expect((await shmkit(['ls'], { env: { FORCE_COLOR: '1' } })).stdout).toMatch(ANSI);
    expect((await shmkit(['ls'], { env: { FORCE_COLOR: '0' } })).stdout).not.toMatch(ANSI);
    expect((await shmkit(['ls'], { env: { NO_COLOR: '1' } })).stdout).not.toMatch(ANSI);
    expect((await shmkit(['frob'], { env: { FORCE_COLOR: '1' } })).stderr).toMatch(ANSI);
  });

  it('colour on a terminal, unless NO_COLOR is set', async () => {
    withObjects(1);
    // script(1) gives the command a pseudo-terminal for stdout.
    const inTerminal = (env: string) =>
      spawnSync(
        'script',
        ['-qec', `env ${env} TERM=xterm ${process.execPath} ${bin} ls`, '/dev/null'],
        {
          encoding: 'utf8',
        },
      );
    const plain = inTerminal('-u NO_COLOR -u FORCE_COLOR');
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(ANSI);
    const noColor = inTerminal('-u FORCE_COLOR NO_COLOR=1');
    expect(noColor.status).toBe(0);
    expect(noColor.stdout).toContain('TYPE');
    expect(noColor.stdout).not.toMatch(ANSI);
  });

  it('a reader that stops early (| head) ends the output without an EPIPE crash', async () => {
    const name = posixName();
    // 4 MiB of varied bytes: a quarter of a million hex lines, none collapsed.
    const bytes = Buffer.alloc(4 << 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
    writeFileSync(`/dev/shm${name}`, bytes);
    withObjects(30);
    for (const command of [`inspect ${name} --hex`, 'ls', 'ls --json', 'limits']) {
      const result = await run('bash', [
        '-c',
        `${process.execPath} ${bin} ${command} | head -n 1 >/dev/null; echo "status \${PIPESTATUS[0]}"`,
      ]);
      // Only warnings (this machine's pid 1 hides its maps even from root).
      for (const line of result.stderr.split('\n').filter(Boolean)) {
        expect(line, command).toMatch(/^shmkit: warning: /);
      }
      expect(result.stdout, command).toBe('status 0\n');
    }
  });
});
