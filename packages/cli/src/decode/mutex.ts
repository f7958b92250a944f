// @shmkit/sync's Mutex: one 32-bit word, the Linux robust-futex layout
// (packages/sync/README.md, "Memory layouts").
import { Mutex } from '@shmkit/sync';
import { formatWord } from '../format';
import { describeOwner, ownerThread } from './owner';
import { u32, type Decoder, type DecodedView } from './view';

const WAITERS = 0x8000_0000;
const OWNER_DIED = 0x4000_0000;
const TID_MASK = 0x3fff_ffff;
const NOT_RECOVERABLE = 0x3fff_ffff;

export const mutexDecoder: Decoder = {
  name: 'mutex',
  byteLength: Mutex.byteLength,
  alignment: Mutex.alignment,
  decode(bytes, offset): DecodedView {
    const word = u32(bytes, 0);
    const view: DecodedView = {
      as: 'mutex',
      offset,
      byteLength: Mutex.byteLength,
      state: '',
      fields: [['word', formatWord(word)]],
      data: { word },
      problems: [],
    };
    if (word === NOT_RECOVERABLE) {
      view.state = 'not-recoverable';
      view.fields.push([
        'state',
        'not recoverable: taken over from a dead owner and unlocked without markConsistent(); Mutex.init() makes it usable again',
      ]);
      view.data.state = view.state;
      return view;
    }
    const tid = word & TID_MASK;
    const waiters = (word & WAITERS) !== 0;
    const ownerDied = (word & OWNER_DIED) !== 0;
    view.data.waiters = waiters;
    view.data.ownerDied = ownerDied;
    if (tid === 0) {
      view.state = ownerDied ? 'owner-died' : 'unlocked';
      view.fields.push([
        'state',
        ownerDied
          ? 'unlocked, owner died: the next lock() takes it and reports ownerDied'
          : 'unlocked',
      ]);
      view.data.owner = null;
    } else {
      const owner = ownerThread(tid);
      view.data.owner = owner;
      if (!owner.alive) view.state = 'abandoned';
      else view.state = ownerDied ? 'inconsistent' : 'locked';
      const meaning = {
        abandoned:
          'locked by a thread that is gone: the next lock() takes it over within about 200 ms and reports ownerDied',
        inconsistent:
          'locked, taken over from a dead owner: the new owner has not called markConsistent() yet',
        locked: 'locked',
      }[view.state as 'abandoned' | 'inconsistent' | 'locked'];
      view.fields.push(['state', meaning], ['owner', describeOwner(owner)]);
    }
    view.data.state = view.state;
    view.fields.push(
      ['waiters', waiters ? 'yes (bit 31: a thread may be asleep on it; unlock wakes one)' : 'no'],
      ['owner died', ownerDied ? 'yes (bit 30)' : 'no'],
    );
    return view;
  },
};
