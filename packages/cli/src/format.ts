// How numbers, modes, keys and times read in tables and in `inspect`.

/** A System V key as `ipcs` prints it: 0x and eight hex digits. */
export function formatKey(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

/** Permission bits as four octal digits: `0600`. */
export function formatOctal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Permission bits as `ls -l` spells them: `rw-r-----`. */
export function formatPerms(mode: number): string {
  const bit = (mask: number, char: string) => (mode & mask ? char : '-');
  return [
    bit(0o400, 'r'),
    bit(0o200, 'w'),
    bit(0o100, 'x'),
    bit(0o040, 'r'),
    bit(0o020, 'w'),
    bit(0o010, 'x'),
    bit(0o004, 'r'),
    bit(0o002, 'w'),
    bit(0o001, 'x'),
  ].join('');
}

const UNITS = ['K', 'M', 'G', 'T', 'P', 'E'];

/** A byte count in at most five characters, as `ls -h` does: 512, 4.0K, 64M, 1.5G. */
export function formatSize(bytes: number | bigint): string {
  let value = Number(bytes);
  if (value < 1024) return String(value);
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 10 ? value.toFixed(1) : Math.round(value).toString();
  // 1023.6K rounds to 1024K: say 1.0M instead.
  if (shown === '1024' && unit < UNITS.length - 1) return `1.0${UNITS[unit + 1]}`;
  return `${shown}${UNITS[unit]}`;
}

/** A byte count for prose: `4096 bytes (4.0 KiB)`. */
export function formatBytes(bytes: number | bigint): string {
  const human = formatSize(bytes);
  return /^\d+$/.test(human)
    ? `${bytes} bytes`
    : `${bytes} bytes (${human.slice(0, -1)} ${human.slice(-1)}iB)`;
}

/** An ISO-8601 time in UTC without milliseconds, or `never`. */
export function formatTime(date: Date | null): string {
  return date === null ? 'never' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** How long ago `date` was, shortly: `12s`, `5m`, `3h`, `2d`. */
export function formatAge(date: Date, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** A 32-bit word in hex: `0x8000162e`. */
export function formatWord(word: number): string {
  return `0x${(word >>> 0).toString(16).padStart(8, '0')}`;
}

/** `1 process` / `3 processes`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
