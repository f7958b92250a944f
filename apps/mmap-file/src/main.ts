#!/usr/bin/env node
// mmap-file cat <file>                     print a file through a mapping
// mmap-file write <file> <sizeMB> [text]   create/size a file, write text, msync
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { catFile, writeFile } from './commands';

const PROGRAM = 'mmap-file';
const USAGE = `usage: ${PROGRAM} cat <file>                    print a file through a read-only mapping
       ${PROGRAM} write <file> <sizeMB> [text]  create or grow the file to sizeMB MiB, write text at offset 0, msync
       ${PROGRAM} --help | --version`;
const DEFAULT_TEXT = 'Hello from shmkit, written through a shared mapping.\n';

/** A mistake in the command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return `${PROGRAM} ${pkg.version}`;
}

/** A size in MiB: a positive finite number (fractions allowed). */
function parseSizeMB(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`<sizeMB> must be a positive number of MiB. Received '${text}'`);
  }
  return value;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const [command, file, ...rest] = positionals;
  switch (command) {
    case 'cat':
      if (file === undefined || rest.length > 0) throw new UsageError('cat takes one <file>');
      await catFile(file, process.stdout);
      return 0;
    case 'write': {
      if (file === undefined || rest.length < 1 || rest.length > 2)
        throw new UsageError('write takes <file> <sizeMB> [text]');
      const sizeMB = parseSizeMB(rest[0] ?? '');
      const { size, written } = writeFile(file, sizeMB, rest[1] ?? DEFAULT_TEXT);
      console.log(
        `wrote ${written} bytes at offset 0 of ${file} (${size} bytes) and msync'ed them`,
      );
      return 0;
    }
    case undefined:
      throw new UsageError('a command is missing');
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

/** The reader of our stdout went away (`| head`): not an error, just the end. */
function isBrokenPipe(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EPIPE';
}

// Without a listener, an EPIPE on stdout is an unhandled 'error' event.
process.stdout.on('error', (error) => {
  if (!isBrokenPipe(error)) throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isBrokenPipe(error)) {
      process.exitCode = 0;
    } else if (
      error instanceof UsageError ||
      String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')
    ) {
      process.stderr.write(`${PROGRAM}: ${(error as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      const { message, code } = error as Error & { code?: string };
      process.stderr.write(
        `${PROGRAM}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}\n`,
      );
      process.exitCode = 1;
    }
  },
);
