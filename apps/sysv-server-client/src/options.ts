import { ftok, validateKey } from '@shmkit/sysv-shm';

/** The tutorial's key, used when neither --key nor --ftok is given. */
export const DEFAULT_KEY = 0x01020304;

/** A user-facing mistake: printed without a stack, exit code 2. */
export class UsageError extends Error {}

/** Parses "0x01020304", "16909060" or "0o100" into a key. */
export function parseKey(text: string): number {
  const value = /^\s*$/.test(text) ? NaN : Number(text);
  try {
    return validateKey(value, '--key');
  } catch {
    throw new UsageError(
      `--key must be a number from 0 to 0xffffffff (hex with 0x). Received '${text}'`,
    );
  }
}

/** The key from --key, or from --ftok PATH and --proj (default 1), or the default. */
export function resolveKey(values: { key?: string; ftok?: string; proj?: string }): number {
  if (values.key !== undefined && values.ftok !== undefined)
    throw new UsageError('give --key or --ftok, not both');
  if (values.ftok !== undefined) {
    const proj = Number(values.proj ?? '1');
    if (!Number.isInteger(proj) || proj < 1 || proj > 255)
      throw new UsageError('--proj must be an integer from 1 to 255');
    return ftok(values.ftok, proj);
  }
  return values.key === undefined ? DEFAULT_KEY : parseKey(values.key);
}

/** Parses --timeout in seconds (fractions allowed). */
export function parseSeconds(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${name} must be a number of seconds >= 0. Received '${text}'`);
  }
  return value;
}

/** "Thu Nov 26 15:17:37 2026": the ctime(3) form `ipcs` prints, in local time. */
export function ctimeString(date: Date | null): string {
  if (date === null) return 'Not set';
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getDay()]} ${months[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${date.getFullYear()}`;
}
