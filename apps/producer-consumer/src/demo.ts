// `pnpm demo`: runs a producer and a consumer for a few messages and checks
// that nothing is left behind in /dev/shm or the temp directory.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const name = `/shmkit-demo-${process.pid}`;
const fifo = join(tmpdir(), `shmkit-demo-${process.pid}.fifo`);
const common = ['--name', name, '--fifo', fifo];

function start(script: string, args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [join(__dirname, script), ...common, ...args], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

async function main(): Promise<void> {
  const producer = start('producer.js', ['--interval', '300', '--count', '4']);
  const consumer = start('consumer.js', []);
  const [p, c] = await Promise.all([producer, consumer]);
  const leftovers = [`/dev/shm${name}`, fifo].filter((path) => existsSync(path));
  console.log(
    `demo: producer exited ${p}, consumer exited ${c}; left behind: ${leftovers.length ? leftovers.join(', ') : 'nothing'}`,
  );
  process.exitCode = p === 0 && c === 0 && leftovers.length === 0 ? 0 : 1;
}

void main();
