// Reading a @shmkit/channel header out of bytes someone else controls, for
// `ls` (the summary) and `inspect --as channel` (the full view). The
// decoding is @shmkit/channel's own (decodeChannelHeader, on a private
// copy); what is added here is never throwing, whatever the bytes hold, and
// whether each attached end's thread is alive.
import {
  ChannelErrorCode,
  channelHeaderBytes,
  decodeChannelHeader,
  isChannelHeader,
  type ChannelInfo,
} from '@shmkit/channel';
import { describeError } from '../errors';
import type { ChannelStatus } from '../model';
import { isAlive, startTime } from '../sources/processes';
import { u32 } from './view';

/** Bytes of a header's static part: enough to know its size (LAYOUT.md). */
export const CHANNEL_STATIC_BYTES = 64;
/** The 8-byte magic, `shmkchan`, is all `ls` needs to see to look closer. */
export const CHANNEL_MAGIC_BYTES = 8;

/** A decoded header with, for every attached end, whether its owner runs. */
export interface ChannelReading {
  /** How far the header could be trusted (model.ts). */
  status: ChannelStatus;
  /** The header, when `status` is ok or damaged; `alive` is set on every attached end. */
  info: ChannelInfo | null;
  /** What is wrong, one sentence each; empty when ok. */
  problems: string[];
}

const PREFIX = /^channel '\(header\)' is corrupt: /;

/** Format versions a later @shmkit/channel could plausibly write; any other word is garbage. */
const PLAUSIBLE_VERSIONS = 255;

function failed(error: unknown, version?: number): ChannelReading {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === ChannelErrorCode.VERSION && version !== undefined && version > PLAUSIBLE_VERSIONS) {
    return {
      status: 'corrupt',
      info: null,
      problems: [`version word 0x${version.toString(16).padStart(8, '0')} is no format version`],
    };
  }
  const message = error instanceof Error ? error.message.replace(PREFIX, '') : describeError(error);
  return {
    status: code === ChannelErrorCode.VERSION ? 'unsupported' : 'corrupt',
    info: null,
    problems: [message],
  };
}

/**
 * Whether the thread `tid` that claimed an end at `start` (the low 32 bits
 * of its start time in clock ticks; 0 = not recorded) still runs: alive, not
 * a zombie, and not a newer thread that was given the same id. The words
 * come from shared memory: a garbage id is simply not alive.
 */
export function endAlive(tid: number, start: number): boolean {
  if (!isAlive(tid)) return false;
  const now = startTime(tid);
  return start === 0 || now === undefined || now % 2 ** 32 === start >>> 0;
}

/**
 * Reads and decodes the channel header at the start of `read`'s bytes, of
 * which there are `available` (from the header's start to the object's end).
 * Never throws on what the bytes hold; a read that fails throws.
 */
export function readChannelHeader(
  read: (offset: number, length: number) => Buffer,
  available: number,
): ChannelReading {
  const head = read(0, CHANNEL_STATIC_BYTES);
  if (!isChannelHeader(head)) return failed(new Error('no channel magic (shmkchan) at its start'));
  if (head.length < CHANNEL_STATIC_BYTES) {
    return failed(
      new Error(
        `truncated: ${head.length} bytes, a channel header has at least ${CHANNEL_STATIC_BYTES}`,
      ),
    );
  }
  let info: ChannelInfo;
  try {
    const headerBytes = channelHeaderBytes(head);
    // The static words passed their checks: headerBytes is at most 36 KiB.
    const bytes = headerBytes === head.length ? head : read(0, headerBytes);
    if (bytes.length < headerBytes) {
      return failed(new Error(`truncated: ${bytes.length} bytes, its header says ${headerBytes}`));
    }
    info = decodeChannelHeader(bytes);
  } catch (error) {
    return failed(error, u32(head, 8));
  }
  for (const end of [...info.senders, ...info.receivers]) {
    if (end.owner !== 0) end.alive = endAlive(end.owner, end.ownerStart);
  }
  const problems = [...info.problems];
  if (available < info.byteLength) {
    problems.push(
      `the object has ${available} bytes, its ${info.senderSlots === 1 ? 'ring needs' : 'rings need'} ${info.byteLength}`,
    );
  }
  return { status: problems.length === 0 ? 'ok' : 'damaged', info, problems };
}
