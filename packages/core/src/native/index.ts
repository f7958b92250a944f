// The shape of the native addon. Each area declares its functions in its own
// file; this file only joins them.
import type { CoreNative } from './core';
import type { ErrorsNative } from './errors';
import type { FifoNative } from './fifo';
import type { MlockNative } from './mlock';
import type { MmapNative } from './mmap';
import type { MqNative } from './mqueue';
import type { MsgNative } from './msg';
import type { PosixShmNative } from './posix-shm';
import type { SemNative } from './sem';
import type { SyncNative } from './sync';
import type { SysvNative } from './sysv';
import type { SysvSemNative } from './sysv-sem';
import type { UsersNative } from './users';
import type { WaitNative } from './wait';

export type * from './core';
export type * from './errors';
export type * from './fifo';
export type * from './mlock';
export type * from './mmap';
export type * from './mqueue';
export type * from './msg';
export type * from './posix-shm';
export type * from './sem';
export type * from './sync';
export type * from './sysv';
export type * from './sysv-sem';
export type * from './users';
export type * from './wait';

/** Every function the addon exports. */
export interface NativeBinding
  extends CoreNative,
    ErrorsNative,
    SysvNative,
    PosixShmNative,
    MmapNative,
    MlockNative,
    SyncNative,
    SemNative,
    SysvSemNative,
    WaitNative,
    FifoNative,
    MqNative,
    MsgNative,
    UsersNative {}
