// A hex dump in the canonical `hexdump -C` format: offset, sixteen bytes in
// two groups of eight, the printable ones as text; a run of identical lines
// is shown once, then '*'. Offsets are from the start of the object.

const CHUNK = 64 * 1024;

function line(offset: number, bytes: Buffer): string {
  const hex: string[] = [];
  for (let i = 0; i < 16; i++) {
    hex.push(i < bytes.length ? bytes[i]!.toString(16).padStart(2, '0') : '  ');
    if (i === 7) hex.push('');
  }
  const text = [...bytes]
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
    .join('');
  return `${offset.toString(16).padStart(8, '0')}  ${hex.join(' ')}  |${text}|`;
}

/**
 * The lines of a dump of bytes `start` to `end`, read through `read` a
 * chunk at a time (a 1 GiB object is not loaded at once). Stops early when
 * the object turns out shorter.
 */
export function* hexDump(
  read: (offset: number, length: number) => Buffer,
  start: number,
  end: number,
): Generator<string> {
  let previous: Buffer | undefined;
  let skipping = false;
  let offset = start;
  while (offset < end) {
    const chunk = read(offset, Math.min(CHUNK, end - offset));
    if (chunk.length === 0) break;
    for (let at = 0; at < chunk.length; at += 16) {
      const row = chunk.subarray(at, Math.min(at + 16, chunk.length));
      if (previous !== undefined && row.length === 16 && row.equals(previous)) {
        if (!skipping) yield '*';
        skipping = true;
      } else {
        skipping = false;
        yield line(offset + at, row);
      }
      previous = Buffer.from(row);
    }
    offset += chunk.length;
  }
  yield offset.toString(16).padStart(8, '0');
}
