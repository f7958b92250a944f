// The coded errors a channel reports besides the shared argument errors.
// Their codes are in @shmkit/core's one table (error-codes.json).
import { codedError, type CodedError } from '@shmkit/core/internal';

/**
 * The `code` of every error a channel reports itself (besides Node's
 * argument errors, ERR_SHMKIT_CLOSED and errno codes such as EEXIST).
 */
export const ChannelErrorCode = {
  /** A shared word holds a value no correct peer writes (or the object is not a channel). */
  CORRUPT: 'ERR_SHMKIT_CHANNEL_CORRUPT',
  /** The channel was made by another version of the format. */
  VERSION: 'ERR_SHMKIT_CHANNEL_VERSION',
  /** The object exists but its header was never written. */
  NOT_INITIALIZED: 'ERR_SHMKIT_NOT_INITIALIZED',
  /** `create` without `exclusive` found a channel with other parameters. */
  MISMATCH: 'ERR_SHMKIT_CHANNEL_MISMATCH',
  /** Every slot for this kind of end is held by a live process. */
  BUSY: 'ERR_SHMKIT_CHANNEL_BUSY',
  /** Every sender closed and every message was received. */
  ENDED: 'ERR_SHMKIT_CHANNEL_ENDED',
  /** The process (or thread) at the other end died without closing. */
  PEER_DIED: 'ERR_SHMKIT_CHANNEL_PEER_DIED',
  /** A sender must wait for room, but the receiver has closed. */
  NO_RECEIVER: 'ERR_SHMKIT_CHANNEL_NO_RECEIVER',
  /** A message could not be decoded with the receiver's codec. */
  DECODE: 'ERR_SHMKIT_CHANNEL_DECODE',
  /** Node's code for a call out of order: commit() without reserve(), release() without peek()... */
  INVALID_STATE: 'ERR_INVALID_STATE',
} as const;

export type ChannelErrorCode = (typeof ChannelErrorCode)[keyof typeof ChannelErrorCode];

/** ERR_SHMKIT_CHANNEL_CORRUPT for channel `name`. */
export function corrupt(name: string, what: string): CodedError {
  return codedError('ERR_SHMKIT_CHANNEL_CORRUPT', `channel '${name}' is corrupt: ${what}`);
}

/** An error with one of Node's own codes (ERR_INVALID_STATE, ERR_STREAM_NULL_VALUES). */
export function nodeError(code: string, message: string): CodedError {
  const error = new Error(message) as CodedError;
  error.code = code;
  return error;
}

/** Node's ERR_INVALID_STATE, worded as Node words it. */
export function invalidState(message: string): CodedError {
  return nodeError(ChannelErrorCode.INVALID_STATE, `Invalid state: ${message}`);
}

export function ended(name: string): CodedError {
  return codedError(
    'ERR_SHMKIT_CHANNEL_ENDED',
    `channel '${name}' has ended: every sender closed and every message was received`,
  );
}

/** ERR_SHMKIT_CHANNEL_PEER_DIED, with the dead thread's id as `tid`. */
export function peerDied(name: string, who: string, tid: number): CodedError & { tid: number } {
  const error = codedError(
    'ERR_SHMKIT_CHANNEL_PEER_DIED',
    `channel '${name}': the ${who} (thread ${tid}) died without closing`,
  );
  return Object.assign(error, { tid });
}

export function noReceiver(name: string): CodedError {
  return codedError(
    'ERR_SHMKIT_CHANNEL_NO_RECEIVER',
    `channel '${name}' is full and its receiver has closed: nobody will make room`,
  );
}

export function busy(name: string, what: string): CodedError {
  return codedError('ERR_SHMKIT_CHANNEL_BUSY', `channel '${name}': ${what}`);
}

export function decodeError(name: string, codec: string, cause: unknown): CodedError {
  const error = codedError(
    'ERR_SHMKIT_CHANNEL_DECODE',
    `channel '${name}': a message is not valid ${codec}`,
  );
  return Object.assign(error, { cause });
}
