// `pnpm demo`: runs a producer and a consumer for a few messages, first
// notifying through a FIFO, then through semaphores in the shared memory,
// then through an @shmkit/channel ring, and checks that nothing is left
// behind in /dev/shm or the temp directory.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function start(script: string, args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [join(__dirname, script), ...args], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** One producer/consumer run; true when both exit 0 and nothing is left. */
async function round(sync: 'fifo' | 'semaphore' | 'channel'): Promise<boolean> {
  const name = `/shmkit-demo-${process.pid}-${sync}`;
  const fifo = join(tmpdir(), `shmkit-demo-${process.pid}.fifo`);
  const common = ['--name', name, '--sync', sync, ...(sync === 'fifo' ? ['--fifo', fifo] : [])];
  console.log(`demo: --sync ${sync}`);
  const producer = start('producer.js', [...common, '--interval', '250', '--count', '4']);
  const consumer = start('consumer.js', common);
  const [p, c] = await Promise.all([producer, consumer]);
  const leftovers = [`/dev/shm${name}`, `/dev/shm${name}-channel`, fifo].filter((path) =>
    existsSync(path),
  );
  console.log(
    `demo: --sync ${sync}: producer exited ${p}, consumer exited ${c}; left behind: ${leftovers.length ? leftovers.join(', ') : 'nothing'}`,
  );
  return p === 0 && c === 0 && leftovers.length === 0;
}

async function main(): Promise<void> {
  const fifoOk = await round('fifo');
  const semaphoreOk = await round('semaphore');
  const channelOk = await round('channel');
  process.exitCode = fifoOk && semaphoreOk && channelOk ? 0 : 1;
}

void main();
