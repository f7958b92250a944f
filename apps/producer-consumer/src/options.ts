// Command-line options shared by the producer and the consumer.
import { parseArgs } from 'node:util';
import type { Transport } from './notify';
import { transports } from './transports';

/** What both programs are told. */
export interface Options {
  /** POSIX shm object name. */
  name: string;
  /** Notification channel (the FIFO path for `--sync fifo`; a description for `--sync semaphore`). */
  channel: string;
  transport: Transport;
  /** Milliseconds between messages (producer). */
  interval: number;
  /** Stop after this many messages (0: run until interrupted). */
  count: number;
  /** Consumer: how long to wait for the producer to appear, in ms. */
  wait: number;
}

export const DEFAULT_NAME = '/shmkit-producer-consumer';

const USAGE = `options:
  --name /shm-name     POSIX shared memory object (default ${DEFAULT_NAME})
  --sync fifo|semaphore
                       notification mechanism (default fifo): a FIFO, or two
                       semaphores in the shared memory object
  --fifo path          FIFO path for --sync fifo (default: $TMPDIR/<name>.fifo)
  --interval ms        producer: time between messages (default 1000)
  --count n            stop after n messages (default: run until Ctrl-C)
  --wait ms            consumer: how long to wait for a producer (default 10000)`;

function whole(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number, got '${value}'`);
  return n;
}

/** Parses argv; prints usage and exits on --help or bad input. */
export function parseOptions(argv: string[], program: string): Options {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        name: { type: 'string' },
        fifo: { type: 'string' },
        sync: { type: 'string' },
        interval: { type: 'string' },
        count: { type: 'string' },
        wait: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(`usage: ${program} [options]\n${USAGE}`);
      process.exit(0);
    }
    const name = values.name ?? DEFAULT_NAME;
    const sync = values.sync ?? 'fifo';
    const transport = transports[sync];
    if (!Object.hasOwn(transports, sync) || !transport)
      throw new Error(`--sync must be one of ${Object.keys(transports).join(', ')}, got '${sync}'`);
    if (values.fifo !== undefined && !transport.usesFifoPath)
      throw new Error(`--fifo does not apply to --sync ${sync}`);
    return {
      name,
      channel: values.fifo ?? transport.defaultChannel(name),
      transport,
      interval: whole(values.interval, 'interval', 1000),
      count: whole(values.count, 'count', 0),
      wait: whole(values.wait, 'wait', 10_000),
    };
  } catch (error) {
    console.error(`${program}: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

/**
 * An AbortSignal that fires on SIGINT or SIGTERM, and the exit code the
 * signal calls for (128 + signal number) once it has.
 */
export function stopSignal(): { signal: AbortSignal; exitCode: () => number } {
  const controller = new AbortController();
  let code = 0;
  const stop = (name: NodeJS.Signals, number: number) => {
    code = 128 + number;
    controller.abort(new Error(`received ${name}`));
  };
  process.once('SIGINT', () => stop('SIGINT', 2));
  process.once('SIGTERM', () => stop('SIGTERM', 15));
  return { signal: controller.signal, exitCode: () => code };
}
