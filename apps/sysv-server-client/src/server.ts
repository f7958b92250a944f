import { formatKey, SysvSegment } from '@shmkit/sysv-shm';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_OFFSET, initReadyEvent, segmentSizeFor, writeMessage } from './layout';

export interface ServerOptions {
  key: number;
  message: string;
  /** Seconds to run before cleaning up; Infinity waits for a signal only. */
  timeout: number;
  /** Segment size in bytes; at least what the message needs. */
  size?: number;
  /** Seconds to wait between creating the segment and writing the message. */
  delay?: number;
  log: (line: string) => void;
}

/**
 * Creates the segment (exclusively: a second server, or a stale segment,
 * is an error rather than silently shared), publishes the message (after
 * `delay` seconds) and sets the message-ready event, then
 * waits for SIGINT/SIGTERM or the timeout and detaches and removes it.
 * Resolves the signal that stopped it, if one did.
 */
export async function server(options: ServerOptions): Promise<NodeJS.Signals | undefined> {
  const { key, message, log } = options;
  const size = Math.max(options.size ?? 4096, segmentSizeFor(message));
  // Listen before the segment exists and until it is gone, so that no
  // signal can end the server between creation and removal.
  const stop = stopWhenTold(options.timeout);
  try {
    const segment = SysvSegment.create({ key, size, mode: 0o600, exclusive: true });
    try {
      log(
        `created segment ${segment.id} for key ${formatKey(key)} (${segment.size} bytes, mode 0600)`,
      );
      const memory = segment.attach();
      try {
        log(`attached at 0x${memory.address.toString(16)}`);
        const ready = initReadyEvent(memory);
        const delay = options.delay ?? 0;
        let reason: string | undefined;
        if (delay > 0) {
          log(`writing the message in ${delay} s`);
          const timer = new AbortController();
          reason = await Promise.race([
            stop.reason,
            // Aborted only once the race is decided; the rejection is moot then.
            sleep(Math.min(delay * 1000, MAX_DELAY_MS), undefined, { signal: timer.signal }).then(
              () => undefined,
              () => undefined,
            ),
          ]);
          timer.abort();
        }
        if (reason === undefined) {
          writeMessage(memory, ready, message);
          log(
            `wrote "${message}" (${Buffer.byteLength(message)} bytes) and set the message-ready event (offset ${EVENT_OFFSET})`,
          );
          reason = await stop.reason;
        }
        log(`${reason}: detaching and removing segment ${segment.id}`);
      } finally {
        memory.detach();
      }
    } finally {
      segment.remove();
    }
    log('done');
    return stop.signal();
  } finally {
    stop.dispose();
  }
}

/** setTimeout's longest delay; longer ones would fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * `reason` resolves on SIGINT, SIGTERM or after `seconds`, saying which.
 * The listeners stay until `dispose()`, so a second signal during cleanup is
 * absorbed instead of killing the process half-way.
 */
function stopWhenTold(seconds: number): {
  reason: Promise<string>;
  signal(): NodeJS.Signals | undefined;
  dispose(): void;
} {
  let resolve: (why: string) => void = () => {};
  const reason = new Promise<string>((r) => (resolve = r));
  // The first reason wins; a signal during cleanup is absorbed, not counted.
  let decided = false;
  let stoppedBy: NodeJS.Signals | undefined;
  const finish = (why: string, signal?: NodeJS.Signals) => {
    if (decided) return;
    decided = true;
    stoppedBy = signal;
    resolve(why);
  };
  const onSignal = (signal: NodeJS.Signals) => finish(`got ${signal}`, signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Neither a pending promise nor a signal listener keeps Node running: a
  // timer does, also when there is no timeout.
  const delay = seconds * 1000;
  const timer =
    delay <= MAX_DELAY_MS
      ? setTimeout(() => finish(`timeout after ${seconds} s`), delay)
      : setInterval(() => {}, MAX_DELAY_MS);
  return {
    reason,
    signal: () => stoppedBy,
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
