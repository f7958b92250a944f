// Notification with two glibc semaphores (`sem_t`, sem_init with pshared = 1)
// kept in the second page of the shared memory object itself: "item ready"
// and "slot free", the classic bounded buffer with room for one message. The
// producer takes a free slot before writing a message and posts "item
// ready" after; the consumer takes the item, reads the message and posts the
// slot back. So every message is handed to exactly one consumer and none is
// overwritten unread; no FIFO is involved.
//
// The sync page (offsets in the object; the message area is page 0, see layout.ts):
//
//   4096  int32  state      0 = being set up, 1 = open, 2 = closed (the producer has finished)
//   4100  int32  producer   the producer's pid, so a consumer notices a producer killed with -9
//   4104  int32  consumers  consumers attached; a futex word the producer sleeps on while it is 0
//   4108  int32  published  number of the latest message announced (stored before posting items)
//   4112  int32  consumed   number of the latest message a consumer took
//   4116  12 bytes reserved (zero)
//   4128  sem_t  items      "item ready": one unit per message, plus one on close; starts at 0
//   4160  sem_t  slots      "slot free": the consumer posts it after taking a message; starts at 1
//
// On close the producer stores state = 2 and posts items once more (the end
// token). A consumer that takes a unit with published <= consumed has taken
// that token: it posts it again for any other consumer and stops.
import { PosixShm } from '@shmkit/posix-shm';
import { futexWaitAsync, futexWake, Semaphore } from '@shmkit/sync';
import { AREA_SIZE } from './layout';
import type { NotifyReceiver, NotifySender, Transport } from './notify';
import { pause } from './pause';

/** Object offset of the sync page: right after the message area. */
export const SYNC_OFFSET = AREA_SIZE;
/** Bytes of the sync page. */
export const SYNC_SIZE = 4096;
/** Object offset of the "item ready" sem_t. */
export const ITEMS_OFFSET = SYNC_OFFSET + 32;
/** Object offset of the "slot free" sem_t. */
export const SLOTS_OFFSET = SYNC_OFFSET + 64;
/** Bytes of the whole object in semaphore mode. */
export const SEMAPHORE_OBJECT_SIZE = SYNC_OFFSET + SYNC_SIZE;

// Word indexes in the sync page.
const STATE = 0;
const PRODUCER = 1;
const CONSUMERS = 2;
const PUBLISHED = 3;
const CONSUMED = 4;

const SETTING_UP = 0;
const OPEN = 1;
const CLOSED = 2;

/** How often a waiting side looks up from its semaphore to check on the other side. */
const CHECK_MS = 250;

type Mapping = ReturnType<PosixShm['map']>;

function isAbort(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ABORT_ERR';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ESRCH';
  }
}

/**
 * Maps the sync page shared and writable: sem_t and futexes live in the
 * memory itself, so a private (copy-on-write) page would be a different
 * semaphore from the producer's.
 */
function mapSyncPage(shm: PosixShm): Mapping {
  return shm.map({ offset: SYNC_OFFSET, length: SYNC_SIZE });
}

class SemaphoreSender implements NotifySender {
  readonly #page: Mapping;
  readonly #words: Int32Array;
  readonly #items: Semaphore;
  readonly #slots: Semaphore;
  #closed = false;

  constructor(shm: PosixShm) {
    if (Semaphore.byteLength > SLOTS_OFFSET - ITEMS_OFFSET)
      throw new Error(`sem_t is ${Semaphore.byteLength} bytes here; the layout has room for 32`);
    const page = mapSyncPage(shm);
    this.#page = page;
    const words = page.int32Array(0, 8);
    this.#words = words;
    // An object left by a crashed producer is reused: mark it as being set
    // up first, so nobody uses the semaphores while they are re-initialised.
    Atomics.store(words, STATE, SETTING_UP);
    for (const index of [PRODUCER, CONSUMERS, PUBLISHED, CONSUMED, 5, 6, 7])
      Atomics.store(words, index, 0);
    this.#items = Semaphore.init(page, ITEMS_OFFSET - SYNC_OFFSET, 0);
    this.#slots = Semaphore.init(page, SLOTS_OFFSET - SYNC_OFFSET, 1);
    Atomics.store(words, PRODUCER, process.pid);
    Atomics.store(words, STATE, OPEN);
  }

  async connect(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (Atomics.load(this.#words, CONSUMERS) > 0) return true;
      try {
        // A consumer adds itself and wakes this word.
        await futexWaitAsync(this.#words, CONSUMERS, 0, { signal });
      } catch (error) {
        if (isAbort(error)) return false;
        throw error;
      }
    }
  }

  async reserve(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (Atomics.load(this.#words, CONSUMERS) <= 0) return false; // it left
      try {
        if (await this.#slots.waitAsync({ signal, timeout: CHECK_MS })) return true;
      } catch (error) {
        if (isAbort(error)) return false;
        throw error;
      }
    }
  }

  async notify(number: number): Promise<boolean> {
    Atomics.store(this.#words, PUBLISHED, number);
    this.#items.post();
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#words, STATE, CLOSED);
    this.#items.post(); // the end token
    // No sem_destroy: consumers may still hold these semaphores; the memory
    // goes when the last process unmaps the unlinked object.
    this.#items.close();
    this.#slots.close();
    this.#page.close();
  }
}

class SemaphoreReceiver implements NotifyReceiver {
  readonly #page: Mapping;
  readonly #words: Int32Array;
  readonly #items: Semaphore;
  readonly #slots: Semaphore;
  #closed = false;

  constructor(page: Mapping) {
    this.#page = page;
    this.#words = page.int32Array(0, 8);
    this.#items = Semaphore.attach(page, ITEMS_OFFSET - SYNC_OFFSET);
    this.#slots = Semaphore.attach(page, SLOTS_OFFSET - SYNC_OFFSET);
    Atomics.add(this.#words, CONSUMERS, 1);
    futexWake(this.#words, CONSUMERS);
  }

  async *notifications(signal: AbortSignal): AsyncIterable<number> {
    const words = this.#words;
    for (;;) {
      let taken: boolean;
      try {
        taken = await this.#items.waitAsync({ signal, timeout: CHECK_MS });
      } catch (error) {
        if (isAbort(error)) return; // a unit taken in that instant was posted back
        throw error;
      }
      if (!taken) {
        const producer = Atomics.load(words, PRODUCER);
        if (Atomics.load(words, STATE) === OPEN && !alive(producer)) {
          console.log(`consumer: producer ${producer} died without closing`);
          return;
        }
        continue;
      }
      const published = Atomics.load(words, PUBLISHED);
      if (published > Atomics.load(words, CONSUMED)) {
        Atomics.store(words, CONSUMED, published);
        try {
          yield published;
        } finally {
          this.#slots.post(); // taken: the producer may write the next one
        }
        continue;
      }
      if (Atomics.load(words, STATE) === CLOSED) {
        this.#items.post(); // pass the end token on to any other consumer
        return;
      }
      // A unit without a message and without close: nothing to hand back.
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.sub(this.#words, CONSUMERS, 1);
    this.#items.close();
    this.#slots.close();
    this.#page.close();
  }
}

/**
 * Opens the producer's object read-write and maps its sync page once the
 * producer has set it up, retrying until `signal` aborts.
 */
async function attachSyncPage(shmName: string, signal: AbortSignal): Promise<Mapping> {
  let seen = `'${shmName}' does not exist`;
  for (;;) {
    let shm: PosixShm | undefined;
    try {
      shm = PosixShm.open(shmName);
      const size = shm.size;
      if (size >= SEMAPHORE_OBJECT_SIZE) {
        const page = mapSyncPage(shm);
        const state = Atomics.load(page.int32Array(0, 1), STATE);
        if (state !== SETTING_UP) return page;
        page.close();
        seen = `'${shmName}' is being set up`;
      } else {
        seen = `'${shmName}' is ${size} bytes, not ${SEMAPHORE_OBJECT_SIZE}: is its producer using --sync semaphore?`;
      }
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    } finally {
      shm?.close(); // the mapping is all we need
    }
    if (!(await pause(20, signal))) throw new Error(`no semaphore producer: ${seen}`);
  }
}

export const semaphoreTransport: Transport = {
  objectSize: SEMAPHORE_OBJECT_SIZE,
  usesFifoPath: false,

  async create(_channel, shm) {
    return new SemaphoreSender(shm);
  },

  async attach(_channel, shmName, signal) {
    const page = await attachSyncPage(shmName, signal);
    try {
      return new SemaphoreReceiver(page);
    } catch (error) {
      page.close();
      throw error;
    }
  },

  defaultChannel(shmName) {
    return `${shmName} (semaphores at offsets ${ITEMS_OFFSET} and ${SLOTS_OFFSET})`;
  },
};
