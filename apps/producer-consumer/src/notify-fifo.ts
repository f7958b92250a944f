// Notification over a FIFO: each message is announced by one 4-byte record,
// the message number as a host-order C int (the tutorial wrote the int 1).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fifo, type FifoReader, type FifoWriter } from '@shmkit/sync';
import { AREA_SIZE } from './layout';
import type { NotifyReceiver, NotifySender, Transport } from './notify';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

class FifoSender implements NotifySender {
  #writer: FifoWriter | undefined;
  readonly #path: string;
  readonly #created: boolean;

  constructor(path: string, created: boolean) {
    this.#path = path;
    this.#created = created;
  }

  async connect(signal: AbortSignal): Promise<boolean> {
    if (this.#writer) return true;
    try {
      this.#writer = await Fifo.openWriter(this.#path, { signal });
      return true;
    } catch (error) {
      if ((error as Error).name === 'AbortError') return false;
      throw error;
    }
  }

  // The latest message wins: the consumer reads whatever is newest when a
  // record arrives, so the producer never waits to write.
  async reserve(): Promise<boolean> {
    return true;
  }

  async notify(number: number): Promise<boolean> {
    const writer = this.#writer;
    if (!writer) return false;
    const record = Buffer.alloc(4);
    new Int32Array(record.buffer, record.byteOffset, 1)[0] = number;
    try {
      await writer.notify(record);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EPIPE') throw error;
      writer.close();
      this.#writer = undefined;
      return false;
    }
  }

  close(): void {
    this.#writer?.close();
    this.#writer = undefined;
    if (this.#created) {
      try {
        Fifo.unlink(this.#path);
      } catch {
        // already removed
      }
    }
  }
}

class FifoReceiver implements NotifyReceiver {
  readonly #reader: FifoReader;

  constructor(reader: FifoReader) {
    this.#reader = reader;
  }

  async *notifications(signal: AbortSignal): AsyncIterable<number> {
    for (;;) {
      let record: Buffer;
      try {
        record = await this.#reader.wait({ signal });
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (
          code === 'ERR_SHMKIT_FIFO_ENDED' ||
          code === 'ABORT_ERR' ||
          code === 'ERR_SHMKIT_CLOSED'
        )
          return;
        throw error;
      }
      yield new Int32Array(record.buffer, record.byteOffset, 1)[0]!;
    }
  }

  close(): void {
    this.#reader.close();
  }
}

export const fifoTransport: Transport = {
  objectSize: AREA_SIZE,
  usesFifoPath: true,

  async create(path) {
    // Reusing a FIFO left by a crashed producer is harmless; we remove it on exit.
    Fifo.create(path, { reuse: true });
    return new FifoSender(path, true);
  },

  async attach(path, _shmName, signal) {
    for (;;) {
      try {
        return new FifoReceiver(await Fifo.openReader(path));
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT' || signal.aborted) throw error;
        await sleep(50, signal); // the producer has not created it yet
      }
    }
  },

  defaultChannel(shmName) {
    return join(tmpdir(), `${shmName.slice(1)}.fifo`);
  },
};
