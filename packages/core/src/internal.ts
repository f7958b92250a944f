/**
 * For @shmkit packages only: the raw native binding, the Mapping factory and
 * the shared validators. Not a stable public API.
 *
 * Every re-export is named: TypeScript compiles `export *` to one generic
 * getter (`m[k]`) shared by all names, which V8 cannot inline, and that
 * cost ~30 ns on every call of a validator from another package.
 *
 * @packageDocumentation
 */
export { native } from './loader';
export { abortGroup, onAbort } from './abort-group';
export { setLongTimeout, type LongTimer } from './timers';
export { adoptMapping, mappingHandle } from './mapping';
export type { MappingInit } from './mapping';
export {
  abortError,
  closedError,
  codedError,
  describeReceived,
  errorWithoutStack,
  invalidArgType,
  invalidArgValue,
  isSystemError,
  outOfRange,
} from './errors';
export type { CodedError, SystemError } from './errors';
export { hideFramesIn } from './stack';
export { systemError, type SystemErrorContext } from './system-error';
export {
  MAX_SAFE_SIZE,
  optionalBoolean,
  validateAbortSignal,
  validateBoolean,
  validateFunction,
  validateInteger,
  validateMode,
  validateOptions,
  validateSize,
  validateString,
  validateTimeout,
} from './validate';
export { ownerLabel } from './users';
export { registerExitRemoval, sameFileCheck, validateRemoveOnExit } from './remove-on-exit';
export type { ExitRemoval } from './remove-on-exit';
export type * from './native/index';
