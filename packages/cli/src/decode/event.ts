// @shmkit/sync's SharedEvent: four 32-bit words (state, waiters, kind,
// reserved), packages/sync/README.md "Memory layouts".
import { SharedEvent } from '@shmkit/sync';
import { u32, type Decoder, type DecodedView } from './view';

const KINDS: Partial<Record<number, string>> = { 1: 'manual', 2: 'auto' };

export const eventDecoder: Decoder = {
  name: 'event',
  byteLength: SharedEvent.byteLength,
  alignment: SharedEvent.alignment,
  decode(bytes, offset): DecodedView {
    const [state, waiters, kind, reserved] = [0, 4, 8, 12].map((at) => u32(bytes, at)) as [
      number,
      number,
      number,
      number,
    ];
    const problems: string[] = [];
    const mode = KINDS[kind] ?? null;
    if (kind === 0)
      problems.push('kind word is 0: not initialised (SharedEvent.init writes 1 or 2)');
    else if (mode === null)
      problems.push(`kind word is ${kind}: not a SharedEvent (1 = manual, 2 = auto)`);
    if (state > 1) problems.push(`state word is ${state}: a SharedEvent only ever holds 0 or 1`);
    if (reserved !== 0) problems.push(`reserved word is ${reserved}, not 0`);
    const isSet = state === 1;
    const verdict =
      kind === 0
        ? 'not initialised'
        : mode === null || state > 1
          ? 'invalid'
          : isSet
            ? 'set'
            : 'reset';
    return {
      as: 'event',
      offset,
      byteLength: SharedEvent.byteLength,
      state: verdict,
      fields: [
        ['mode', mode === null ? `? (kind word ${kind})` : `${mode} reset`],
        ['state', state > 1 ? `? (word ${state})` : isSet ? 'set' : 'reset'],
        [
          'waiters',
          `${waiters} (threads asleep or about to sleep; a killed waiter leaves it too high)`,
        ],
      ],
      data: { mode, set: state > 1 ? null : isSet, stateWord: state, waiters, kindWord: kind },
      problems,
    };
  },
};
