// The two commands, as functions: the CLI (main.ts) and the demo call them.
import { mapFile } from '@shmkit/mmap';
import type { Writable } from 'node:stream';

/** How much of the mapping goes to the output stream per write. */
const CHUNK = 1 << 20;

function writeChunk(out: Writable, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(bytes, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Prints a file through a read-only mapping, zero-copy: the output stream
 * reads the mapped pages directly. Returns the number of bytes printed.
 *
 * The mapping is private and read-only: its pages can be handed to the
 * stream as they are, and nothing written through them could reach the
 * file. It is closed only after the stream has taken every chunk, since
 * closing detaches the buffer that pending writes still point into.
 */
export async function catFile(path: string, out: Writable): Promise<number> {
  let mapping;
  try {
    mapping = mapFile(path, { readOnly: true, shared: false });
  } catch (error) {
    // An empty file has nothing to map and nothing to print.
    if ((error as { code?: string }).code === 'ERR_SHMKIT_EMPTY') return 0;
    throw error;
  }
  try {
    mapping.advise('sequential');
    const bytes = mapping.uint8Array();
    for (let at = 0; at < bytes.length; at += CHUNK) {
      await writeChunk(out, bytes.subarray(at, at + CHUNK));
    }
    return bytes.length;
  } finally {
    mapping.close();
  }
}

/** What {@link writeFile} did. */
export interface WriteResult {
  /** The file's size afterwards, in bytes. */
  size: number;
  /** How many bytes of text went in at offset 0. */
  written: number;
}

/**
 * Creates `path` if needed, grows it to `sizeMB` MiB (ftruncate; it never
 * shrinks), writes `text` at the start through a shared mapping and msyncs
 * it so the bytes are in the file when this returns.
 */
export function writeFile(path: string, sizeMB: number, text: string): WriteResult {
  if (!Number.isFinite(sizeMB) || sizeMB <= 0) {
    throw new RangeError(`size must be a positive number of MiB, not ${sizeMB}`);
  }
  const bytes = Buffer.from(text, 'utf8');
  const size = Math.ceil(sizeMB * 2 ** 20);
  if (bytes.length > size) {
    throw new RangeError(`the text (${bytes.length} bytes) does not fit in ${size} bytes`);
  }
  using mapping = mapFile(path, { size });
  mapping.uint8Array().set(bytes);
  mapping.sync({ length: bytes.length });
  return { size: mapping.byteLength, written: bytes.length };
}
