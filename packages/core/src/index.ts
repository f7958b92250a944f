/**
 * @shmkit/core: the native core every shmkit package shares.
 *
 * It holds the one native addon, the {@link Mapping} object that every
 * package hands out, and Node-style errors. Most users install a feature
 * package (`@shmkit/mmap`, `@shmkit/sysv-shm`...) and never import this one
 * directly.
 *
 * @packageDocumentation
 */
export { Mapping, mapAnonymous, pageSize } from './mapping';
export type {
  Advice,
  AnonymousOptions,
  MappingKind,
  PageRangeOptions,
  Protection,
  Residency,
  SyncOptions,
} from './mapping';
export { Layout, layout } from './layout';
export type {
  FieldPlacement,
  FieldSpec,
  Placeable,
  Scalar,
  ScalarField,
  ScalarViews,
  ViewOf,
} from './layout';
export { ErrorCodes } from './error-codes';
export type { ShmkitErrorCode } from './error-codes';
export { isSystemError } from './errors';
export type { CodedError, SystemError } from './errors';
export { platformTriple } from './loader';
