import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@shmkit/testing';
import { afterAll, describe, expect, it } from 'vitest';

const appDir = join(__dirname, '..');
const main = join(appDir, 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'shmkit-mmap-file-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function catBytes(file: string): Buffer {
  const result = spawnSync(process.execPath, [main, 'cat', file], { maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  expect(result.stderr.toString()).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

function cli(...args: string[]) {
  return run(process.execPath, [main, ...args], { cwd: appDir });
}

describe('mmap-file', () => {
  it('write creates and sizes the file, writes the text and msyncs; cat prints the file byte for byte', async () => {
    const file = join(dir, 'data.bin');
    const written = await cli('write', file, '1', 'héllo mapped\n');
    expect(written).toMatchObject({ code: 0, stderr: '' });
    expect(written.stdout).toContain('wrote 14 bytes');
    expect(statSync(file).size).toBe(1 << 20);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const onDisk = readFileSync(file);
    expect(onDisk.subarray(0, 14).toString()).toBe('héllo mapped\n');

    expect(catBytes(file).equals(onDisk)).toBe(true);
  });

  it('cat copies binary content of a size that is not a page multiple byte for byte', () => {
    const file = join(dir, 'random.bin');
    const bytes = randomBytes((3 << 20) + 17);
    writeFileSync(file, bytes);
    expect(catBytes(file).equals(bytes)).toBe(true);
  });

  it('cat prints a small text file exactly, and an empty file as nothing', async () => {
    const text = join(dir, 'small.txt');
    writeFileSync(text, 'one\ntwo\n');
    expect(await cli('cat', text)).toMatchObject({ code: 0, stdout: 'one\ntwo\n', stderr: '' });
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    expect(await cli('cat', empty)).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('write never shrinks a bigger file and keeps what lies past the text', async () => {
    const file = join(dir, 'keep.bin');
    writeFileSync(file, Buffer.alloc(3 << 20, 1));
    expect((await cli('write', file, '1', 'AB')).code).toBe(0);
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(3 << 20);
    expect(bytes.subarray(0, 3).toString()).toBe('AB\x01');
  });

  it('reports errors with their code and usage mistakes with exit code 2', async () => {
    const missing = await cli('cat', join(dir, 'missing'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ENOENT');
    const tooBig = await cli('write', join(dir, 'tiny'), '0.000001', 'more than one byte');
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toContain('does not fit');
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('cat')).stderr).toContain('usage');
  });

  it('--help, -h and --version print to stdout and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const help = await cli(flag);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      expect(help.stdout).toMatch(/^usage: mmap-file cat <file>/);
      expect(help.stdout).toContain('mmap-file write <file> <sizeMB> [text]');
    }
    const version = await cli('--version');
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout).toMatch(/^mmap-file \d+\.\d+\.\d+\n$/);
  });

  it('usage mistakes say what is wrong and exit 2, without touching the file', async () => {
    const file = join(dir, 'never.bin');
    for (const [args, message] of [
      [['write', file, 'abc'], "<sizeMB> must be a positive number of MiB. Received 'abc'"],
      [['write', file, '-3'], "Unknown option '-3'"],
      [['write', file, '0'], "<sizeMB> must be a positive number of MiB. Received '0'"],
      [['write', file, ''], "<sizeMB> must be a positive number of MiB. Received ''"],
      [['write', file], 'write takes <file> <sizeMB> [text]'],
      [['cat', file, 'extra'], 'cat takes one <file>'],
      [['--frob'], "Unknown option '--frob'"],
      [[], 'a command is missing'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ] as const) {
      const result = await cli(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain(`mmap-file: ${message}`);
      expect(result.stderr).toContain('usage: mmap-file');
      expect(result.stderr).not.toContain('NaN');
      expect(result.stdout).toBe('');
    }
    expect(existsSync(file)).toBe(false);
  });

  it('cat into a pipe whose reader stops early (| head) ends quietly with exit 0', async () => {
    const file = join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(16 << 20, 'x'));
    const result = await run('bash', [
      '-o',
      'pipefail',
      '-c',
      `"$0" "$1" cat "$2" | head -c 10`,
      process.execPath,
      main,
      file,
    ]);
    expect(result).toEqual({ code: 0, signal: null, stdout: 'xxxxxxxxxx', stderr: '' });
  });

  it('the demo runs by itself and removes what it created', async () => {
    const result = await run('npm', ['run', '--silent', 'demo'], { cwd: appDir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('The mapping wrote this line');
    expect(result.stdout).toContain('an empty file prints 0 bytes and exits 0');
    const removed = result.stdout.match(/removed (\S+)/)?.[1];
    expect(removed).toBeDefined();
    expect(existsSync(removed!)).toBe(false);
  });
});
