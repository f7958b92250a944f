import { formatKey, SysvSegment } from '@shmkit/sysv-shm';
import { segmentSizeFor, writeMessage } from './layout';

export interface ServerOptions {
  key: number;
  message: string;
  /** Seconds to run before cleaning up; Infinity waits for a signal only. */
  timeout: number;
  /** Segment size in bytes; at least what the message needs. */
  size?: number;
  log: (line: string) => void;
}

/**
 * Creates the segment (exclusively: a second server, or a stale segment,
 * is an error rather than silently shared), publishes the message, then
 * waits for SIGINT/SIGTERM or the timeout and detaches and removes it.
 */
export async function server(options: ServerOptions): Promise<void> {
  const { key, message, log } = options;
  const size = Math.max(options.size ?? 4096, segmentSizeFor(message));
  const segment = SysvSegment.create({ key, size, mode: 0o600, exclusive: true });
  try {
    log(
      `created segment ${segment.id} for key ${formatKey(key)} (${segment.size} bytes, mode 0600)`,
    );
    const memory = segment.attach();
    try {
      log(`attached at 0x${memory.address.toString(16)}`);
      writeMessage(memory, message);
      log(`wrote "${message}" (${Buffer.byteLength(message)} bytes)`);
      const reason = await waitForStop(options.timeout);
      log(`${reason}: detaching and removing segment ${segment.id}`);
    } finally {
      memory.detach();
    }
  } finally {
    segment.remove();
  }
  log('done');
}

/** Resolves on SIGINT, SIGTERM or after `seconds`, with what happened. */
function waitForStop(seconds: number): Promise<string> {
  return new Promise((resolve) => {
    const timer = Number.isFinite(seconds)
      ? setTimeout(() => finish(`timeout after ${seconds} s`), seconds * 1000)
      : undefined;
    const onSignal = (signal: NodeJS.Signals) => finish(`got ${signal}`);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    function finish(reason: string) {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(reason);
    }
  });
}
