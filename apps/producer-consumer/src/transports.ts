// Every notification mechanism, by the name `--sync` takes. The FIFO is the
// tutorial's channel; `--sync semaphore` uses two glibc semaphores in the
// shared memory object itself. Another mechanism plugs in by adding an entry
// here.
import type { Transport } from './notify';
import { fifoTransport } from './notify-fifo';
import { semaphoreTransport } from './notify-semaphore';

export const transports: Record<string, Transport> = {
  fifo: fifoTransport,
  semaphore: semaphoreTransport,
};
