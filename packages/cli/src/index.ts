/**
 * @shmkit/cli: the `shmkit` command (ls, inspect, rm, limits, watch), and
 * the types of its `--json` output for programs that read it.
 *
 * @packageDocumentation
 */
import { hideFramesIn } from '@shmkit/core/internal';

// Errors from list() point at the caller's code, not at this package's files.
hideFramesIn(__dirname);

export { run } from './cli';
export { list } from './list';
export type { ListOptions } from './list';
export type { Io } from './io';
export { JSON_SCHEMA, OBJECT_TYPES } from './model';
export type {
  ChannelContent,
  ChannelEnds,
  ChannelStatus,
  Content,
  Creator,
  IpcObject,
  LsJson,
  ObjectBase,
  ObjectType,
  Owner,
  PosixMqObject,
  PosixSemObject,
  PosixShmObject,
  ProcessUse,
  SysvMsgObject,
  SysvSemObject,
  SysvShmObject,
  Users,
} from './model';
