#!/usr/bin/env node
// sysv-server-client: the tutorial's shmsrv/shmcli pair as one command.
//   server [--key K | --ftok PATH [--proj N]] [--message TEXT] [--size BYTES] [--timeout SECONDS]
//   client [--key K | --ftok PATH [--proj N]] [--timeout SECONDS]
//   stat <id>
import { isSystemError } from '@shmkit/sysv-shm';
import { parseArgs } from 'node:util';
import { client } from './client';
import { parseSeconds, resolveKey, UsageError } from './options';
import { server } from './server';
import { statLines } from './stat';

const USAGE = `usage:
  sysv-server-client server [--key K | --ftok PATH [--proj N]] [--message TEXT] [--size BYTES] [--timeout SECONDS]
  sysv-server-client client [--key K | --ftok PATH [--proj N]] [--timeout SECONDS]
  sysv-server-client stat <id>
The key defaults to 0x01020304. The server runs until SIGINT/SIGTERM or --timeout.`;

const keyOptions = {
  key: { type: 'string' },
  ftok: { type: 'string' },
  proj: { type: 'string' },
} as const;

function log(line: string): void {
  process.stdout.write(`${line}\n`);
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
          timeout: { type: 'string' },
        },
      });
      const size = values.size === undefined ? undefined : Number(values.size);
      if (size !== undefined && (!Number.isInteger(size) || size < 1))
        throw new UsageError('--size must be a whole number of bytes >= 1');
      await server({
        key: resolveKey(values),
        message: values.message ?? 'Hello',
        size,
        timeout: parseSeconds(values.timeout, '--timeout', Infinity),
        log,
      });
      return;
    }
    case 'client': {
      const { values } = parseArgs({
        args: rest,
        options: { ...keyOptions, timeout: { type: 'string' } },
      });
      await client({
        key: resolveKey(values),
        timeout: parseSeconds(values.timeout, '--timeout', 5),
        log,
      });
      return;
    }
    case 'stat': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
      const id = Number(positionals[0]);
      if (positionals.length !== 1 || !Number.isInteger(id) || id < 0)
        throw new UsageError('stat takes one segment id');
      for (const line of statLines(id)) log(line);
      return;
    }
    case undefined:
    case '-h':
    case '--help':
      log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
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
