import type { SharedEvent } from '@shmkit/sync';
import { formatKey, isSystemError, SysvSegment, type SysvAttachment } from '@shmkit/sysv-shm';
import { setTimeout as sleep } from 'node:timers/promises';
import { attachReadyEvent, EVENT_OFFSET, readMessage } from './layout';

export interface ClientOptions {
  key: number;
  /** Seconds to wait for the segment and its message. */
  timeout: number;
  log: (line: string) => void;
  /** Aborts every wait (the CLI aborts it on SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

/**
 * Opens the segment, retrying while it does not exist yet (the server may
 * start later). System V has no way to wait for a key to appear, so this one
 * step polls.
 */
async function openWhenThere(
  key: number,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<SysvSegment> {
  for (;;) {
    try {
      return SysvSegment.open({ key });
    } catch (error) {
      if (!isSystemError(error) || error.code !== 'ENOENT' || Date.now() >= deadline) throw error;
      await sleep(20, undefined, { signal });
    }
  }
}

/**
 * The segment's "message ready" event. A client that attaches in the moment
 * between the server's shmget and its SharedEvent.init finds no event yet;
 * it retries briefly rather than wait on memory that init will overwrite.
 */
async function readyEventWhenThere(
  memory: SysvAttachment,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<SharedEvent | undefined> {
  for (;;) {
    const ready = attachReadyEvent(memory);
    if (ready !== undefined || Date.now() >= deadline) return ready;
    await sleep(2, undefined, { signal });
  }
}

/**
 * Opens the segment by key, attaches, waits for the "message ready" event,
 * prints "Data <message>" and then the shmctl(IPC_STAT) statistics.
 * The wait runs off the event loop (SharedEvent.waitAsync); `signal` aborts it.
 */
export async function client(options: ClientOptions): Promise<void> {
  const { key, log, signal } = options;
  const deadline = Date.now() + options.timeout * 1000;
  const segment = await openWhenThere(key, deadline, signal);
  log(`found segment ${segment.id} for key ${formatKey(key)}`);
  const memory = segment.attach();
  try {
    log(`attached at 0x${memory.address.toString(16)}`);
    const ready = await readyEventWhenThere(memory, deadline, signal);
    if (!ready?.isSet) log(`waiting for the message-ready event (offset ${EVENT_OFFSET})`);
    const published =
      ready !== undefined &&
      (await ready.waitAsync({ timeout: Math.max(0, deadline - Date.now()), signal }));
    if (!published) {
      throw new Error(
        `no message was published in segment ${segment.id} within ${options.timeout} s`,
      );
    }
    log(`Data ${readMessage(memory)}`);
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
