// Command-line parsing with Node's own util.parseArgs: strict (unknown
// options and stray arguments are errors), with its error codes turned
// into usage errors (exit status 2) that name the command's --help.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';
import { OBJECT_TYPES, type ObjectType } from './model';

/** The options a command declares, in util.parseArgs's format. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns for a spec: option values by name, and positionals. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** True when `--help`/`-h` appears before a `--`: help wins over every other argument. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * Parses `args` for `command` against `options`, allowing between `min`
 * and `max` positional arguments.
 * @throws UsageError for anything util.parseArgs refuses, and for a wrong
 *   number of positionals.
 */
export function parse(
  command: string,
  args: string[],
  options: OptionSpec,
  positionals: { min: number; max: number; what: string },
): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({
      args,
      options,
      allowPositionals: positionals.max > 0,
      strict: true,
    }) as Parsed;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((error as Error).message, command);
    }
    throw error;
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`missing ${positionals.what}`, command);
  if (count > positionals.max) {
    throw new UsageError(`unexpected argument '${parsed.positionals[positionals.max]}'`, command);
  }
  return parsed;
}

/** The strings a repeatable option collected, split at commas. */
export function listOption(value: Parsed['values'][string]): string[] {
  if (value === undefined || typeof value === 'boolean') return [];
  const items =
    typeof value === 'string' ? [value] : value.filter((v): v is string => typeof v === 'string');
  return items
    .flatMap((item) => item.split(','))
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Groups `--type` accepts besides the type names themselves. */
const TYPE_GROUPS: Record<string, readonly ObjectType[]> = {
  sysv: ['sysv-shm', 'sysv-sem', 'sysv-msg'],
  posix: ['posix-shm', 'posix-sem', 'posix-mq'],
  shm: ['sysv-shm', 'posix-shm'],
  sem: ['sysv-sem', 'posix-sem'],
  mq: ['sysv-msg', 'posix-mq'],
};

/** Every word `--type` accepts, for help texts and errors. */
export const TYPE_WORDS = [...OBJECT_TYPES, ...Object.keys(TYPE_GROUPS)];

/**
 * The types `--type` selects (all of them when it is absent). `extra`
 * names further words a command accepts (`fifo` for inspect and rm).
 */
export function typesOption(
  command: string,
  value: Parsed['values'][string],
  extra: readonly string[] = [],
): { types: Set<ObjectType>; extra: Set<string> } {
  const words = listOption(value);
  if (words.length === 0) return { types: new Set(OBJECT_TYPES), extra: new Set(extra) };
  const types = new Set<ObjectType>();
  const extras = new Set<string>();
  for (const word of words) {
    if ((OBJECT_TYPES as readonly string[]).includes(word)) types.add(word as ObjectType);
    else if (word in TYPE_GROUPS) TYPE_GROUPS[word]!.forEach((t) => types.add(t));
    else if (extra.includes(word)) extras.add(word);
    else {
      throw new UsageError(
        `unknown type '${word}' for --type: use ${[...TYPE_WORDS, ...extra].join(', ')}`,
        command,
      );
    }
  }
  return { types, extra: extras };
}

/** One of `allowed`, or a usage error naming them. */
export function oneOf<T extends string>(
  command: string,
  option: string,
  value: string,
  allowed: readonly T[],
): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `invalid value '${value}' for ${option}: use ${allowed.join(', ')}`,
    command,
  );
}

/** A non-negative byte count or offset: decimal, or hex with 0x. */
export function byteNumber(command: string, option: string, text: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text)
    ? parseInt(text, 16)
    : /^\d+$/.test(text)
      ? Number(text)
      : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(
      `invalid value '${text}' for ${option}: a byte count (1234 or 0x4d2)`,
      command,
    );
  }
  return n;
}

/** A duration in seconds, fractions allowed, within `min`..`max`. */
export function seconds(
  command: string,
  option: string,
  text: string,
  min: number,
  max: number,
): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(
      `invalid value '${text}' for ${option}: seconds from ${min} to ${max}`,
      command,
    );
  }
  return n;
}
