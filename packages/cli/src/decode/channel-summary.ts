// What `ls` says about a @shmkit/channel: the `content` of its POSIX
// object in JSON, and a few words for the INFO column.
import { isChannelHeader, type ChannelInfo } from '@shmkit/channel';
import type { Style } from '../io';
import type { ChannelContent, ChannelEnds } from '../model';
import { CHANNEL_MAGIC_BYTES, readChannelHeader, type ChannelReading } from './channel-header';
import type { Recognizer } from './recognizer';

interface End {
  owner: number;
  alive?: boolean;
}

function ends(slots: readonly End[], waiting: number): ChannelEnds {
  const attached = slots.filter((end) => end.owner !== 0);
  return {
    slots: slots.length,
    attached: attached.length,
    alive: attached.filter((end) => end.alive === true).length,
    waiting,
  };
}

/** How full a channel is, 0 to 1 (see ChannelContent.fill). */
export function channelFill(info: ChannelInfo): number {
  if (info.kind !== 'broadcast') return info.usedBytes / (info.capacity * info.senderSlots);
  const lags = info.receivers.filter((r) => r.owner !== 0).map((r) => r.lagBytes ?? 0);
  return Math.min(1, Math.max(0, ...lags) / info.capacity);
}

/** The `content` of an object whose header was read. */
export function channelContent(reading: ChannelReading): ChannelContent {
  const { info } = reading;
  const content: ChannelContent = {
    kind: 'channel',
    status: reading.status,
    problems: reading.problems,
    channelKind: null,
    codec: null,
    capacity: null,
    rings: null,
    usedBytes: null,
    fill: null,
    senders: null,
    receivers: null,
    ended: null,
    lastExit: null,
    deaths: null,
  };
  if (info === null) return content;
  return {
    ...content,
    channelKind: info.kind,
    codec: info.codec,
    capacity: info.capacity,
    rings: info.senderSlots,
    usedBytes: info.usedBytes,
    fill: channelFill(info),
    senders: ends(info.senders, info.senders.filter((s) => s.waiting).length),
    // One futex word for all receivers: "some receiver may be asleep".
    receivers: ends(info.receivers, info.receiverWaiting ? 1 : 0),
    ended: info.ended,
    lastExit: info.lastExit,
    deaths: info.deaths,
  };
}

/** `37%`, with `<1%` for a channel that is not quite empty. */
export function percent(fill: number, used: number): string {
  const rounded = Math.round(fill * 100);
  return rounded === 0 && used > 0 ? '<1%' : `${rounded}%`;
}

/**
 * INFO, at most 26 columns for spsc and mpsc: `spsc 27% tx 1 rx 1` (fill,
 * then the senders and receivers alive), `mpsc 3% tx 0 rx 1, 1 dead` (ends
 * still claimed by a thread that is gone), `channel corrupt: unknown kind 9`.
 */
export function describeChannel(content: ChannelContent): string {
  const { senders, receivers } = content;
  if (senders === null || receivers === null) {
    return `channel ${content.status}: ${content.problems[0] ?? '?'}`;
  }
  const used =
    content.channelKind === 'broadcast'
      ? Math.round((content.fill ?? 0) * (content.capacity ?? 0))
      : (content.usedBytes ?? 0);
  const damaged = content.status === 'damaged' ? 'damaged ' : '';
  let text = `${damaged}${content.channelKind} ${percent(content.fill ?? 0, used)} tx ${senders.alive} rx ${receivers.alive}`;
  const dead = senders.attached - senders.alive + receivers.attached - receivers.alive;
  if (dead > 0) text += `, ${dead} dead`;
  if (content.ended === true) text += ', ended';
  return text;
}

function styleOf(content: ChannelContent): Style | undefined {
  if (content.status === 'corrupt') return 'red';
  if (content.status !== 'ok') return 'yellow';
  const dead = [content.senders, content.receivers].some((e) => e !== null && e.alive < e.attached);
  return dead ? 'yellow' : undefined;
}

export const channelRecognizer: Recognizer<ChannelContent> = {
  kind: 'channel',
  magicBytes: CHANNEL_MAGIC_BYTES,
  matches: (head) => isChannelHeader(head),
  recognize: (read, objectSize) => channelContent(readChannelHeader(read, objectSize)),
  describe: describeChannel,
  style: styleOf,
};
