// glibc's sem_t on 64-bit platforms: a 64-bit word whose low half is the
// value and high half the number of waiters, then the `private` word that
// says process-shared (128, FUTEX_SHARED) or not (0). The same 32 bytes sit
// in a Semaphore's mapping and in a named semaphore's /dev/shm/sem.NAME.
import { Semaphore } from '@shmkit/sync';
import { u32, u64, type Decoder, type DecodedView } from './view';

const SEM_VALUE_MAX = 0x7fff_ffff;
const PRIVATE_SHARED = 128;
const PRIVATE_PRIVATE = 0;

/** A sem_t's value and waiters, or why they cannot be trusted. */
export interface SemT {
  value: number | null;
  waiters: number | null;
  shared: boolean | null;
  problems: string[];
}

export function readSemT(bytes: Buffer): SemT {
  if (bytes.length < Semaphore.byteLength) {
    return {
      value: null,
      waiters: null,
      shared: null,
      problems: [`too small for a sem_t: ${bytes.length} of ${Semaphore.byteLength} bytes`],
    };
  }
  const data = u64(bytes, 0);
  const value = Number(data & 0xffff_ffffn);
  const waiters = Number(data >> 32n);
  const priv = u32(bytes, 8);
  const problems: string[] = [];
  if (value > SEM_VALUE_MAX)
    problems.push(`value word ${value} is above SEM_VALUE_MAX: not a sem_t`);
  if (priv !== PRIVATE_SHARED && priv !== PRIVATE_PRIVATE)
    problems.push(`private word is ${priv}: glibc writes 128 (process-shared) or 0; not a sem_t`);
  return {
    value: value > SEM_VALUE_MAX ? null : value,
    waiters,
    shared: priv === PRIVATE_SHARED ? true : priv === PRIVATE_PRIVATE ? false : null,
    problems,
  };
}

export const semaphoreDecoder: Decoder = {
  name: 'semaphore',
  byteLength: Semaphore.byteLength,
  alignment: Semaphore.alignment,
  decode(bytes, offset): DecodedView {
    const sem = readSemT(bytes);
    const problems = [...sem.problems];
    if (sem.shared === false)
      problems.push(
        'initialised with pshared = 0: other processes must not use it (Semaphore.attach refuses it)',
      );
    return {
      as: 'semaphore',
      offset,
      byteLength: Semaphore.byteLength,
      state:
        sem.value === null || sem.shared === null
          ? 'invalid'
          : sem.value > 0
            ? 'available'
            : 'empty',
      fields: [
        ['value', sem.value === null ? '?' : String(sem.value)],
        [
          'waiters',
          sem.waiters === null ? '?' : `${sem.waiters} (threads in sem_wait, as glibc counts them)`,
        ],
        [
          'shared',
          sem.shared === null ? '?' : sem.shared ? 'yes (pshared = 1)' : 'no (pshared = 0)',
        ],
      ],
      data: { value: sem.value, waiters: sem.waiters, shared: sem.shared },
      problems,
    };
  },
};
