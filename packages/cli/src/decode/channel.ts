// `inspect --as channel`: a @shmkit/channel header in full (LAYOUT.md):
// each ring's cursors and fill, each end's thread and whether it is alive,
// who waits, and how the last sender left.
import {
  channelHeaderBytes,
  type ChannelInfo,
  type ChannelReceiverInfo,
  type ChannelSenderInfo,
} from '@shmkit/channel';
import { formatBytes, plural } from '../format';
import { CHANNEL_STATIC_BYTES, readChannelHeader } from './channel-header';
import { channelFill, percent } from './channel-summary';
import { describeOwner, ownerThread } from './owner';
import type { Decoder, DecodedView } from './view';

/** `tid 4242 (pid 4240 node), alive`, or why not. */
function ownerText(tid: number, alive: boolean | undefined): string {
  const owner = ownerThread(tid);
  if (owner.alive && alive === false) {
    return `tid ${tid}, dead (that id now names a thread that started later)`;
  }
  return describeOwner(owner);
}

const EXITS = { none: 'none yet', closed: 'closed', died: 'died' } as const;

function senderLine(info: ChannelInfo, s: ChannelSenderInfo): string {
  const who = s.owner === 0 ? 'free' : ownerText(s.owner, s.alive);
  const parts = [
    `slot ${s.slot}: ${who}`,
    `tail ${s.tail}, head ${s.head}, ${s.usedBytes} of ${info.capacity} bytes used (${percent(s.fill, s.usedBytes)})`,
    `next sequence ${s.nextSequence}, waiting for room: ${s.waiting ? 'yes' : 'no'}`,
  ];
  if (s.lastExit !== 'none' || s.deaths > 0) {
    parts.push(
      `last exit ${EXITS[s.lastExit]}, ${plural(s.deaths, 'death')}${s.lastDead !== 0 ? ` (last tid ${s.lastDead})` : ''}`,
    );
  }
  return parts.join('\n  ');
}

function receiverLine(info: ChannelInfo, r: ChannelReceiverInfo): string {
  const who = r.owner === 0 ? 'free' : ownerText(r.owner, r.alive);
  if (info.kind !== 'broadcast' || r.cursor === undefined) return `slot ${r.slot}: ${who}`;
  return `slot ${r.slot}: ${who}\n  cursor ${r.cursor}, ${r.lagBytes ?? 0} bytes behind, ${plural(r.missed ?? 0, 'message')} missed`;
}

/** Slots worth a line: attached, holding data, or with a history; the rest are counted. */
function slotLines<T extends { owner: number }>(
  slots: readonly T[],
  interesting: (slot: T) => boolean,
  line: (slot: T) => string,
): string {
  const shown = slots.filter((slot) => slot.owner !== 0 || interesting(slot));
  const lines = shown.map(line);
  const rest = slots.length - shown.length;
  if (rest > 0) lines.push(plural(rest, shown.length > 0 ? 'more slot' : 'slot') + ' free');
  return lines.join('\n');
}

function endCount(slots: ReadonlyArray<{ owner: number; alive?: boolean }>): string {
  const attached = slots.filter((slot) => slot.owner !== 0);
  const dead = attached.filter((slot) => slot.alive !== true).length;
  return `${attached.length} of ${plural(slots.length, 'slot')} attached${dead > 0 ? `, ${dead} dead` : ''}`;
}

function view(offset: number, byteLength: number, state: string): DecodedView {
  return { as: 'channel', offset, byteLength, state, fields: [], data: {}, problems: [] };
}

export const channelDecoder: Decoder = {
  name: 'channel',
  byteLength: CHANNEL_STATIC_BYTES,
  alignment: 8,
  spanOf(head) {
    try {
      return channelHeaderBytes(head);
    } catch {
      return head.length; // not a channel: decode says why from these bytes
    }
  },
  decode(bytes, offset, available): DecodedView {
    const reading = readChannelHeader((at, length) => bytes.subarray(at, at + length), available);
    const { info } = reading;
    if (info === null) {
      const result = view(offset, bytes.length, reading.status);
      result.data = { status: reading.status, info: null };
      result.problems = reading.problems;
      return result;
    }
    const attached = [...info.senders, ...info.receivers].filter((end) => end.owner !== 0);
    const dead = attached.filter((end) => end.alive !== true).length;
    const state =
      reading.status === 'damaged'
        ? 'damaged'
        : info.ended
          ? 'ended'
          : dead > 0
            ? `open, ${plural(dead, 'end')} dead`
            : 'open';
    const result = view(offset, info.headerBytes, state);
    const total = info.capacity * info.senderSlots;
    const fill = channelFill(info);
    const rings = info.senderSlots === 1 ? '' : ` x ${info.senderSlots} rings`;
    result.fields.push(
      ['format', `version ${info.version}, ${info.kind}, codec ${info.codec}`],
      [
        'capacity',
        `${formatBytes(info.capacity)}${rings}; messages up to ${info.maxMessageBytes} bytes`,
      ],
      ['size', `${info.headerBytes}-byte header, ${info.byteLength} bytes in all`],
      [
        'fill',
        info.kind === 'broadcast'
          ? `${percent(fill, Math.round(fill * total))}: the slowest receiver is ${Math.round(fill * info.capacity)} bytes behind (the ring keeps ${info.usedBytes} bytes of messages)`
          : `${percent(fill, info.usedBytes)}: ${info.usedBytes} of ${total} bytes hold messages not yet received`,
      ],
      ['senders', endCount(info.senders)],
      [
        '',
        slotLines(
          info.senders,
          (s) => s.usedBytes > 0 || s.deaths > 0,
          (s) => senderLine(info, s),
        ),
      ],
      ['receivers', endCount(info.receivers)],
      [
        '',
        slotLines(
          info.receivers,
          (r) => (r.missed ?? 0) > 0,
          (r) => receiverLine(info, r),
        ),
      ],
      [
        'waiting',
        `receiver asleep for messages: ${info.receiverWaiting ? 'yes' : 'no'}` +
          (info.kind === 'broadcast'
            ? ''
            : `; receiver spinning: ${info.receiverSpinning ? 'yes' : 'no'}`) +
          `; senders asleep for room: ${info.senders.filter((s) => s.waiting).length}`,
      ],
      [
        'history',
        `a sender has attached: ${info.senderEver ? 'yes' : 'no'}; a receiver has: ${info.receiverEver ? 'yes' : 'no'}`,
      ],
      [
        'last exit',
        `${EXITS[info.lastExit]} (how the last sender left); ${plural(info.deaths, 'sender')} found dead`,
      ],
      ['ended', info.ended ? 'yes: no sender left and nothing to receive' : 'no'],
    );
    result.data = { status: reading.status, fill, ...info };
    result.problems = reading.problems;
    return result;
  },
};
