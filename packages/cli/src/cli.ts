// The shmkit command line: finds the command, runs it, and turns what it
// throws into one line on stderr and the exit status (0 ok, 1 failed,
// 2 usage).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from './commands/inspect';
import { limits } from './commands/limits';
import { ls } from './commands/ls';
import { rm } from './commands/rm';
import { watch } from './commands/watch';
import type { Command, Context } from './commands/context';
import { describeError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import { Output, type Io } from './io';

const COMMANDS: readonly Command[] = [ls, inspect, rm, limits, watch];

/** The version of @shmkit/cli, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: shmkit <command> [options]

See, inspect and clean up shared memory, semaphores and message queues.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help (shmkit <command> --help for a command's)
  -V, --version  print the version

Exit status: 0 done, 1 failed (a system error, a refusal), 2 bad usage.
`;
}

/** The process's own streams and environment. */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/**
 * Runs `shmkit` with `argv` (without node and the script) and resolves to
 * the exit status. Never rejects: failures are reported on `io.stderr`.
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const context: Context = {
    io,
    out: new Output(io.stdout, io.env),
    err: new Output(io.stderr, io.env),
  };
  const [name, ...args] = argv;
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (name === undefined) throw new UsageError('no command given');
    if (name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? args[0] : undefined;
      const about = topic === undefined ? undefined : COMMANDS.find((c) => c.name === topic);
      if (topic !== undefined && about === undefined)
        throw new UsageError(`unknown command '${topic}'`);
      context.out.write(about?.help ?? usage());
      return EXIT_OK;
    }
    if (name === '--version' || name === '-V') {
      context.out.line(version());
      return EXIT_OK;
    }
    if (command === undefined) {
      throw new UsageError(
        name.startsWith('-') ? `unknown option '${name}'` : `unknown command '${name}'`,
      );
    }
    return await command.run([...args], context);
  } catch (error) {
    const where = command === undefined ? '' : `${command.name}: `;
    const prefix = context.err.paint('red', 'shmkit:');
    if (error instanceof UsageError) {
      const help = error.command === undefined ? 'shmkit --help' : `shmkit ${error.command} --help`;
      context.err.line(`${prefix} ${where}${error.message} (see ${help})`);
      return EXIT_USAGE;
    }
    context.err.line(`${prefix} ${where}${describeError(error)}`);
    return EXIT_FAILURE;
  }
}
