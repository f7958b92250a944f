// `pnpm demo`: write a text into a fresh 2 MiB file through a shared
// mapping, print it back through another mapping, then remove the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = join(__dirname, 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'shmkit-mmap-file-'));

function cli(...args: string[]): { stdout: Buffer; status: number | null } {
  console.log(`$ mmap-file ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  const result = spawnSync(process.execPath, [main, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new Error(`mmap-file ${args[0]} exited with ${result.status ?? result.signal}`);
  return { stdout: result.stdout, status: result.status };
}

try {
  const file = join(dir, 'data.bin');
  process.stdout.write(
    cli('write', file, '2', 'The mapping wrote this line, and msync put it on disk.\n').stdout,
  );
  const { stdout } = cli('cat', file);
  const text = stdout.subarray(0, stdout.indexOf(0));
  const zeros = stdout.length - text.length;
  process.stdout.write(text);
  console.log(`(then ${zeros} zero bytes: ${stdout.length} bytes in all, the whole 2 MiB file)`);

  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  const none = cli('cat', empty);
  console.log(`(an empty file prints ${none.stdout.length} bytes and exits ${none.status})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  console.log(`removed ${dir}`);
}
