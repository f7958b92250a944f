/**
 * For @shmkit packages only: the raw native binding, the Mapping factory and
 * the shared validators. Not a stable public API.
 *
 * @packageDocumentation
 */
export { native } from './loader';
export { abortGroup, onAbort } from './abort-group';
export { setLongTimeout, type LongTimer } from './timers';
export { adoptMapping, mappingHandle } from './mapping';
export type { MappingInit } from './mapping';
export * from './errors';
export { hideFramesIn } from './stack';
export * from './system-error';
export * from './validate';
export type * from './native/index';
