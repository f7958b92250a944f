// glibc's pthread_mutex_t as @shmkit/sync's PthreadMutex (and C) use it:
// __lock (the robust-futex word), __count, __owner, __nusers, __kind, the
// first five ints on every 64-bit glibc.
import { PthreadMutex } from '@shmkit/sync';
import { formatWord } from '../format';
import { describeOwner, ownerThread } from './owner';
import { u32, type Decoder, type DecodedView } from './view';

const WAITERS = 0x8000_0000;
const OWNER_DIED = 0x4000_0000;
const TID_MASK = 0x3fff_ffff;
/** __owner values glibc uses for a robust mutex's recovery states. */
const INCONSISTENT = 0x7fff_ffff;
const NOT_RECOVERABLE = 0x7fff_fffe;

const TYPES = ['normal', 'recursive', 'errorcheck', 'adaptive'];
const ROBUST = 0x10;
const PRIO_INHERIT = 0x20;
const PRIO_PROTECT = 0x40;
const PSHARED = 0x80;
const NO_ELISION = 0x200;
const KNOWN = 0x3 | ROBUST | PRIO_INHERIT | PRIO_PROTECT | PSHARED | NO_ELISION;

function describeKind(kind: number): string {
  const parts = [TYPES[kind & 0x3] ?? '?'];
  if (kind & ROBUST) parts.push('robust');
  if (kind & PSHARED) parts.push('process-shared');
  if (kind & PRIO_INHERIT) parts.push('priority-inherit');
  if (kind & PRIO_PROTECT) parts.push('priority-protect');
  return `${parts.join(', ')} (${formatWord(kind)})`;
}

export const pthreadMutexDecoder: Decoder = {
  name: 'pthread-mutex',
  byteLength: PthreadMutex.byteLength,
  alignment: PthreadMutex.alignment,
  decode(bytes, offset): DecodedView {
    const [lock, count, ownerWord, users, kind] = [0, 4, 8, 12, 16].map((at) => u32(bytes, at)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const problems: string[] = [];
    const robust = (kind & ROBUST) !== 0;
    const pshared = (kind & PSHARED) !== 0;
    if ((kind & ~KNOWN) !== 0)
      problems.push(
        `kind word ${formatWord(kind)} has bits glibc never sets: not a pthread_mutex_t`,
      );
    if (!robust || !pshared || (kind & (PRIO_INHERIT | PRIO_PROTECT)) !== 0)
      problems.push(
        'not a robust process-shared mutex without priority protocols: PthreadMutex.attach refuses it',
      );
    const tid = lock & TID_MASK;
    const ownerDied = (lock & OWNER_DIED) !== 0;
    let state: string;
    let meaning: string;
    const fields: Array<[string, string]> = [['lock word', formatWord(lock)]];
    const data: Record<string, unknown> = { lockWord: lock, kindWord: kind, count, users };
    if (ownerWord === NOT_RECOVERABLE) {
      state = 'not-recoverable';
      meaning =
        'not recoverable: unlocked after an owner died without pthread_mutex_consistent(); only pthread_mutex_init helps';
    } else if (tid === 0) {
      state = ownerDied ? 'owner-died' : 'unlocked';
      meaning = ownerDied
        ? 'unlocked, owner died: the next locker gets EOWNERDEAD (ownerDied)'
        : 'unlocked';
    } else {
      const owner = ownerThread(tid);
      data.owner = owner;
      state = !owner.alive ? 'abandoned' : ownerWord === INCONSISTENT ? 'inconsistent' : 'locked';
      meaning = {
        abandoned:
          'locked by a thread that is gone (the kernel marks it owner-died when the thread exits; a stale word means it was never on a robust list)',
        inconsistent:
          'locked after EOWNERDEAD: the owner has not called pthread_mutex_consistent() yet',
        locked: 'locked',
      }[state as 'abandoned' | 'inconsistent' | 'locked'];
      fields.push(['owner', describeOwner(owner)]);
    }
    fields.splice(1, 0, ['state', meaning]);
    fields.push(
      ['waiters', lock & WAITERS ? 'yes (bit 31 of the lock word)' : 'no'],
      ['owner died', ownerDied ? 'yes (bit 30 of the lock word)' : 'no'],
      ['kind', describeKind(kind)],
      ['count', `${count} (recursive locks held)`],
    );
    data.state = state;
    data.waiters = (lock & WAITERS) !== 0;
    data.ownerDied = ownerDied;
    data.type = TYPES[kind & 0x3] ?? null;
    data.robust = robust;
    data.processShared = pshared;
    return {
      as: 'pthread-mutex',
      offset,
      byteLength: PthreadMutex.byteLength,
      state,
      fields,
      data,
      problems,
    };
  },
};
