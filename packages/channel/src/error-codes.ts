// The codes a channel's own errors carry (they are in @shmkit/core's one
// table, error-codes.json), as constants for `error.code ===` checks.

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
