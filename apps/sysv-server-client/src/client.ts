import { formatKey, isSystemError, SysvSegment } from '@shmkit/sysv-shm';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForMessage } from './layout';

export interface ClientOptions {
  key: number;
  /** Seconds to wait for the segment and its message. */
  timeout: number;
  log: (line: string) => void;
}

/** Opens the segment, retrying while it does not exist yet (the server may start later). */
async function openWhenThere(key: number, deadline: number): Promise<SysvSegment> {
  for (;;) {
    try {
      return SysvSegment.open({ key });
    } catch (error) {
      if (!isSystemError(error) || error.code !== 'ENOENT' || Date.now() >= deadline) throw error;
      await sleep(20);
    }
  }
}

/**
 * Opens the segment by key, attaches, waits for the message to be complete,
 * prints "Data <message>" and then the shmctl(IPC_STAT) statistics.
 */
export async function client(options: ClientOptions): Promise<void> {
  const { key, log } = options;
  const deadline = Date.now() + options.timeout * 1000;
  const segment = await openWhenThere(key, deadline);
  log(`found segment ${segment.id} for key ${formatKey(key)}`);
  const memory = segment.attach();
  try {
    log(`attached at 0x${memory.address.toString(16)}`);
    const message = await waitForMessage(memory, deadline);
    if (message === undefined) {
      throw new Error(
        `no message was published in segment ${segment.id} within ${options.timeout} s`,
      );
    }
    log(`Data ${message}`);
    const st = segment.stat();
    const when = (date: Date | null) => (date === null ? 'never' : date.toISOString());
    log(`size ${st.size}`);
    log(`attach time ${when(st.atime)}`);
    log(`detach time ${when(st.dtime)}`);
    log(`change time ${when(st.ctime)}`);
    log(`creator pid ${st.cpid}`);
    log(`n attach ${st.nattch}`);
  } finally {
    memory.detach();
  }
}
