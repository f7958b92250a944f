/**
 * For @shmkit packages only: the raw native binding, the Mapping factory and
 * the shared validators. Not a stable public API.
 *
 * Every value is copied onto this module's exports as a plain data property
 * (`export const { … } = module`), not re-exported with `export { … } from`.
 * TypeScript compiles a CommonJS re-export to an accessor defined over a
 * placeholder, and turning data properties into accessors drops the exports
 * object into V8's dictionary mode: every `internal.validateX(…)` from
 * another package then cost a hash lookup and a getter call, 25-40 ns, on
 * each hot call (a channel `receive({ spin })` made three). A data property
 * of a fast object is a constant to the optimizer. Live bindings are not
 * needed: none of these is ever reassigned.
 *
 * @packageDocumentation
 */
import * as abortGroupModule from './abort-group';
import * as errors from './errors';
import * as loader from './loader';
import * as mapping from './mapping';
import * as removeOnExit from './remove-on-exit';
import * as stack from './stack';
import * as systemErrorModule from './system-error';
import * as timers from './timers';
import * as users from './users';
import * as validate from './validate';

export const { native } = loader;
export const { abortGroup, onAbort } = abortGroupModule;
export const { setLongTimeout } = timers;
export type { LongTimer } from './timers';
export const { adoptMapping, busFaults, keepTruncationFatal, mappingHandle } = mapping;
export type { MappingInit } from './mapping';
export const {
  abortError,
  closedError,
  codedError,
  describeReceived,
  errorWithoutStack,
  invalidArgType,
  invalidArgValue,
  isSystemError,
  outOfRange,
} = errors;
export type { CodedError, SystemError } from './errors';
export const { hideFramesIn } = stack;
export const { systemError } = systemErrorModule;
export type { SystemErrorContext } from './system-error';
export const {
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
} = validate;
export const { ownerLabel } = users;
export const { registerExitRemoval, sameFileCheck, validateRemoveOnExit } = removeOnExit;
export type { ExitRemoval } from './remove-on-exit';
export type * from './native/index';
