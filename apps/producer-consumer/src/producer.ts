#!/usr/bin/env node
// The producer: creates the shared memory object and the notification
// channel, writes a message every --interval ms and announces each one.
// Removes both on exit, including on SIGINT/SIGTERM.
import { PosixShm } from '@shmkit/posix-shm';
import { writeMessage } from './layout';
import { parseOptions, stopSignal } from './options';

const PROGRAM = 'shmkit-producer';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), PROGRAM);
  const { signal, exitCode } = stopSignal();
  const size = options.transport.objectSize;
  const shm = PosixShm.create(options.name, { size, mode: 0o600 });
  const map = shm.map();
  const sender = await options.transport.create(options.channel, shm).catch((error: unknown) => {
    map.close();
    shm.close();
    shm.unlink();
    throw error;
  });
  try {
    console.log(`producer: ${options.name} (${size} bytes), channel ${options.channel}`);
    let sent = 0;
    while (!signal.aborted && (options.count === 0 || sent < options.count)) {
      console.log('producer: waiting for a consumer');
      if (!(await sender.connect(signal))) break;
      console.log('producer: consumer connected');
      while (!signal.aborted && (options.count === 0 || sent < options.count)) {
        if (!(await sender.reserve(signal))) {
          if (!signal.aborted) console.log('producer: consumer left');
          break;
        }
        const number = writeMessage(map.buffer, `Hello #${sent + 1} from producer ${process.pid}`);
        if (!(await sender.notify(number))) {
          console.log('producer: consumer left');
          break;
        }
        sent += 1;
        console.log(`producer: sent message ${number}`);
        if (options.count === 0 || sent < options.count) await sleep(options.interval, signal);
      }
    }
    console.log(
      signal.aborted
        ? `producer: ${String((signal.reason as Error).message)}, cleaning up`
        : 'producer: done',
    );
  } finally {
    sender.close();
    map.close();
    shm.close();
    shm.unlink();
  }
  return exitCode();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // The same prefix as usage errors (options.ts): the command's name.
    console.error(`${PROGRAM}: ${(error as Error).message}`);
    process.exit(1);
  },
);
