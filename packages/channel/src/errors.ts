// The coded errors a channel reports besides the shared argument errors.
// Their codes are in @shmkit/core's one table (error-codes.json).
import { codedError, type CodedError } from '@shmkit/core/internal';
import { ChannelErrorCode } from './error-codes';

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
