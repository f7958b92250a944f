#!/usr/bin/env node
// sysv-server-client: the tutorial's shmsrv/shmcli pair as one command.
//   server [--key K | --ftok PATH [--proj N]] [--message TEXT] [--size BYTES] [--delay SECONDS] [--timeout SECONDS]
//   client [--key K | --ftok PATH [--proj N]] [--timeout SECONDS]
//   stat <id>
import { isSystemError } from '@shmkit/sysv-shm';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { client } from './client';
import { parseSeconds, resolveKey, UsageError } from './options';
import { server } from './server';
import { statLines } from './stat';

const USAGE = `usage:
  sysv-server-client server [--key K | --ftok PATH [--proj N]] [--message TEXT] [--size BYTES] [--delay SECONDS] [--timeout SECONDS]
  sysv-server-client client [--key K | --ftok PATH [--proj N]] [--timeout SECONDS]
  sysv-server-client stat <id>
The key defaults to 0x01020304. The server runs until SIGINT/SIGTERM or --timeout.
The client waits up to --timeout (default 5 s) for the segment and its message.`;

const keyOptions = {
  key: { type: 'string' },
  ftok: { type: 'string' },
  proj: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--help` after a command: the usage to stdout, exit 0. */
function helped(values: { help?: boolean | undefined }): boolean {
  if (values.help) log(USAGE);
  return values.help === true;
}

function version(): string {
  return (
    JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * An AbortSignal fired by SIGINT/SIGTERM, which also sets the exit code a
 * shell expects (128 + signal number).
 */
function abortOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    process.exitCode = name === 'SIGINT' ? 130 : 143;
    controller.abort(new Error(`got ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server': {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...keyOptions,
          message: { type: 'string' },
          size: { type: 'string' },
          delay: { type: 'string' },
          timeout: { type: 'string' },
        },
      });
      if (helped(values)) return;
      const size = values.size === undefined ? undefined : Number(values.size);
      if (size !== undefined && (!Number.isInteger(size) || size < 1))
        throw new UsageError('--size must be a whole number of bytes >= 1');
      const stopped = await server({
        key: resolveKey(values),
        message: values.message ?? 'Hello',
        size,
        delay: parseSeconds(values.delay, '--delay', 0),
        timeout: parseSeconds(values.timeout, '--timeout', Infinity),
        log,
      });
      // Stopped by a signal: the exit code a shell expects (128 + its number).
      if (stopped !== undefined) process.exitCode = 128 + (os.constants.signals[stopped] ?? 0);
      return;
    }
    case 'client': {
      const { values } = parseArgs({
        args: rest,
        options: { ...keyOptions, timeout: { type: 'string' } },
      });
      if (helped(values)) return;
      const key = resolveKey(values);
      if (helped(values)) return;
      const timeout = parseSeconds(values.timeout, '--timeout', 5);
      const interrupt = abortOnSignals();
      try {
        await client({ key, timeout, log, signal: interrupt.signal });
      } finally {
        interrupt.dispose();
      }
      return;
    }
    case 'stat': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { help: keyOptions.help },
      });
      if (helped(values)) return;
      const id = Number(positionals[0]);
      if (positionals.length !== 1 || !Number.isInteger(id) || id < 0)
        throw new UsageError('stat takes one segment id');
      for (const line of statLines(id)) log(line);
      return;
    }
    case '-h':
    case '--help':
      log(USAGE);
      return;
    case '--version':
      log(`sysv-server-client ${version()}`);
      return;
    case undefined:
      throw new UsageError('a command is missing');
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if ((error as { code?: unknown }).code === 'ABORT_ERR') {
    // Interrupted while waiting: the attachment is already detached.
    process.stderr.write('sysv-server-client: interrupted\n');
    if (!process.exitCode) process.exitCode = 130;
  } else if (
    error instanceof UsageError ||
    String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')
  ) {
    process.stderr.write(`sysv-server-client: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (isSystemError(error)) {
    const extra =
      error.code === 'EEXIST' && error.key !== undefined
        ? ` (another server is running, or a stale segment remains: ipcrm -M 0x${error.key.toString(16).padStart(8, '0')})`
        : '';
    process.stderr.write(`sysv-server-client: ${error.message}${extra}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(
      `sysv-server-client: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
});
