// Ping-pong between two processes through each waiting primitive of
// @shmkit/sync. Each kind says how its primitives are laid out in a shared
// mapping and what each end does per round trip: the pinger sends, then
// receives; the ponger receives, then sends. Receiving is the wait, in its
// blocking form or its Promise form; nothing spins before parking, so every
// wait that finds nothing sleeps in the kernel (or the wait engine).
import type { Mapping } from '@shmkit/core';
import {
  Mutex,
  NamedSemaphore,
  Semaphore,
  SharedEvent,
  futexWait,
  futexWaitAsync,
  futexWake,
} from '@shmkit/sync';

export type Primitive = 'event' | 'futex' | 'mutex' | 'semaphore' | 'named-semaphore';

/** Where a pair's primitives live: a shared mapping, and names for the named kinds. */
export interface Place {
  mapping: Mapping;
  names: readonly [string, string];
}

/** One end's two halves of round trip `n` (0, 1, 2... on both ends alike). */
interface Halves {
  send(n: number): void;
  receive(n: number): void;
  receiveAsync(n: number): Promise<void>;
  close?(): void;
}

/** One end of a ping-pong, ready to go. */
export interface End {
  trip(): void;
  tripAsync(): Promise<void>;
  close(): void;
}

interface Kind {
  /** The primitive and how the round trip goes through it, for row titles. */
  title: string;
  /** The blocking wait and the Promise wait each side makes, for row titles. */
  calls: { sync: string; async: string };
  /** Writes fresh primitives (in the process that owns the mapping); returns what removes them. */
  create(place: Place): () => void;
  /** The pinger's halves, after whatever it must hold before the start. */
  ping(place: Place): Halves;
  /** The ponger's halves, likewise. */
  pong(place: Place): Halves;
}

/** Byte offsets of the (up to three) primitives: one 128-byte slot each, no false sharing. */
const SLOT = [0, 128, 256] as const;

/** A byte offset past the primitives that the bench may use for its own words. */
export const FREE_OFFSET = 2048;

const event: Kind = {
  title: 'SharedEvent (two auto-reset events)',
  calls: { sync: 'wait()', async: 'waitAsync()' },
  create({ mapping }) {
    SharedEvent.init(mapping, SLOT[0], { mode: 'auto' });
    SharedEvent.init(mapping, SLOT[1], { mode: 'auto' });
    return () => undefined;
  },
  ping({ mapping }) {
    const ping = SharedEvent.attach(mapping, SLOT[0]);
    const pong = SharedEvent.attach(mapping, SLOT[1]);
    return {
      send: () => ping.set(),
      receive: () => {
        pong.wait();
      },
      receiveAsync: async () => {
        await pong.waitAsync();
      },
    };
  },
  pong({ mapping }) {
    const ping = SharedEvent.attach(mapping, SLOT[0]);
    const pong = SharedEvent.attach(mapping, SLOT[1]);
    return {
      send: () => pong.set(),
      receive: () => {
        ping.wait();
      },
      receiveAsync: async () => {
        await ping.waitAsync();
      },
    };
  },
};

/** Word indexes of the raw futex pair: each end publishes the number of its last trip. */
const PING_WORD = SLOT[0] / 4;
const PONG_WORD = SLOT[1] / 4;

/** The futex protocol: sleep while the word still holds what it held, until it reads `want`. */
function awaitWord(words: Int32Array, index: number, want: number): void {
  for (let v = Atomics.load(words, index); v !== want; v = Atomics.load(words, index))
    futexWait(words, index, v);
}

async function awaitWordAsync(words: Int32Array, index: number, want: number): Promise<void> {
  for (let v = Atomics.load(words, index); v !== want; v = Atomics.load(words, index))
    await futexWaitAsync(words, index, v);
}

function publish(words: Int32Array, index: number, value: number): void {
  Atomics.store(words, index, value);
  futexWake(words, index, 1);
}

const futex: Kind = {
  title: 'raw futex (two words, futexWake)',
  calls: { sync: 'futexWait', async: 'futexWaitAsync' },
  create({ mapping }) {
    new Int32Array(mapping.buffer).fill(0, 0, SLOT[2] / 4);
    return () => undefined;
  },
  ping({ mapping }) {
    const words = new Int32Array(mapping.buffer);
    return {
      send: (n) => publish(words, PING_WORD, n + 1),
      receive: (n) => awaitWord(words, PONG_WORD, n + 1),
      receiveAsync: (n) => awaitWordAsync(words, PONG_WORD, n + 1),
    };
  },
  pong({ mapping }) {
    const words = new Int32Array(mapping.buffer);
    return {
      send: (n) => publish(words, PONG_WORD, n + 1),
      receive: (n) => awaitWord(words, PING_WORD, n + 1),
      receiveAsync: (n) => awaitWordAsync(words, PING_WORD, n + 1),
    };
  },
};

// Strict alternation through mutexes alone takes three: the pinger starts
// holding 0 and 1, the ponger 2. In trip n the pinger unlocks n%3 and locks
// (n+2)%3, which the ponger holds until it has taken n%3; the ponger then
// unlocks (n+2)%3, handing it to the pinger. Every lock waits for a hand-off
// from the other process, so a trip is two unlock-to-lock hand-offs.
const mutex: Kind = {
  title: 'Mutex hand-off (three mutexes passed in turn)',
  calls: { sync: 'lock()', async: 'lockAsync()' },
  create({ mapping }) {
    for (const offset of SLOT) Mutex.init(mapping, offset);
    return () => undefined;
  },
  ping({ mapping }) {
    const locks = SLOT.map((offset) => Mutex.attach(mapping, offset));
    const at = (k: number): Mutex => locks[k % 3] as Mutex;
    at(0).lock();
    at(1).lock();
    return {
      send: (n) => at(n).unlock(),
      receive: (n) => {
        at(n + 2).lock();
      },
      receiveAsync: async (n) => {
        await at(n + 2).lockAsync();
      },
    };
  },
  pong({ mapping }) {
    const locks = SLOT.map((offset) => Mutex.attach(mapping, offset));
    const at = (k: number): Mutex => locks[k % 3] as Mutex;
    at(2).lock();
    return {
      send: (n) => at(n + 2).unlock(),
      receive: (n) => {
        at(n).lock();
      },
      receiveAsync: async (n) => {
        await at(n).lockAsync();
      },
    };
  },
};

interface Counting {
  post(): void;
  wait(): boolean;
  waitAsync(): Promise<boolean>;
  close(): void;
}

/** Halves over two counting semaphores: post one, take from the other. */
function counting(post: Counting, take: Counting): Halves {
  return {
    send: () => post.post(),
    receive: () => {
      take.wait();
    },
    receiveAsync: async () => {
      await take.waitAsync();
    },
    close: () => {
      post.close();
      take.close();
    },
  };
}

const semaphore: Kind = {
  title: 'Semaphore (two sem_t in the shared mapping)',
  calls: { sync: 'wait()', async: 'waitAsync()' },
  create({ mapping }) {
    Semaphore.init(mapping, SLOT[0], 0).close();
    Semaphore.init(mapping, SLOT[1], 0).close();
    return () => undefined;
  },
  ping({ mapping }) {
    return counting(Semaphore.attach(mapping, SLOT[0]), Semaphore.attach(mapping, SLOT[1]));
  },
  pong({ mapping }) {
    return counting(Semaphore.attach(mapping, SLOT[1]), Semaphore.attach(mapping, SLOT[0]));
  },
};

const namedSemaphore: Kind = {
  title: 'NamedSemaphore (two sem_open semaphores)',
  calls: { sync: 'wait()', async: 'waitAsync()' },
  create({ names }) {
    for (const name of names) NamedSemaphore.create(name, { value: 0, exclusive: true }).close();
    return () => {
      for (const name of names) NamedSemaphore.unlink(name);
    };
  },
  ping({ names }) {
    return counting(NamedSemaphore.open(names[0]), NamedSemaphore.open(names[1]));
  },
  pong({ names }) {
    return counting(NamedSemaphore.open(names[1]), NamedSemaphore.open(names[0]));
  },
};

export const PRIMITIVES: Record<Primitive, Kind> = {
  event,
  futex,
  mutex,
  semaphore,
  'named-semaphore': namedSemaphore,
};

/** The end `role` of a `primitive` ping-pong, holding what it must before the first trip. */
export function openEnd(primitive: Primitive, role: 'ping' | 'pong', place: Place): End {
  const kind = PRIMITIVES[primitive];
  const halves = role === 'ping' ? kind.ping(place) : kind.pong(place);
  let n = 0;
  const trip =
    role === 'ping'
      ? (): void => {
          halves.send(n);
          halves.receive(n);
          n += 1;
        }
      : (): void => {
          halves.receive(n);
          halves.send(n);
          n += 1;
        };
  const tripAsync =
    role === 'ping'
      ? async (): Promise<void> => {
          halves.send(n);
          await halves.receiveAsync(n);
          n += 1;
        }
      : async (): Promise<void> => {
          await halves.receiveAsync(n);
          halves.send(n);
          n += 1;
        };
  return { trip, tripAsync, close: () => halves.close?.() };
}
