#!/usr/bin/env node
// The consumer: attaches to the producer's shared memory and channel, waits
// for notifications on Node's event loop (never a blocking read) and prints
// each message. Creates nothing, so it removes nothing; it detaches on exit,
// including on SIGINT/SIGTERM.
import { PosixShm } from '@shmkit/posix-shm';
import { AREA_SIZE, readMessage } from './layout';
import { parseOptions, stopSignal } from './options';

const PROGRAM = 'shmkit-consumer';

async function openShm(name: string, wait: number, signal: AbortSignal): Promise<PosixShm> {
  const deadline = Date.now() + wait;
  for (;;) {
    try {
      // Read-only: the consumer cannot damage the producer's data. The
      // mapping is copy-on-write, so it still has a buffer for Atomics.
      const shm = PosixShm.open(name, { readOnly: true });
      // The object exists a moment before the producer has sized it.
      if (shm.size >= AREA_SIZE || Date.now() > deadline || signal.aborted) return shm;
      shm.close();
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT' || Date.now() > deadline || signal.aborted)
        throw error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), PROGRAM);
  const { signal, exitCode } = stopSignal();
  const waitSignal = AbortSignal.any([signal, AbortSignal.timeout(options.wait)]);
  const shm = await openShm(options.name, options.wait, signal);
  // Only the message area: a transport maps what else it needs itself.
  const map = shm.map({ length: AREA_SIZE });
  shm.close(); // the mapping is all we need
  let receiver;
  try {
    receiver = await options.transport.attach(options.channel, options.name, waitSignal);
  } catch (error) {
    map.close();
    throw error;
  }
  console.log(`consumer: attached to ${options.name}, waiting on ${options.channel}`);
  let received = 0;
  try {
    for await (const announced of receiver.notifications(signal)) {
      const message = readMessage(map.buffer);
      if (message === undefined) continue;
      const note = message.number === announced ? '' : ` (announced ${announced})`;
      console.log(`consumer: message ${message.number}: ${message.text}${note}`);
      received += 1;
      if (options.count !== 0 && received >= options.count) break;
    }
    console.log(
      signal.aborted
        ? 'consumer: interrupted, detaching'
        : `consumer: done after ${received} messages`,
    );
  } finally {
    receiver.close();
    map.close();
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
