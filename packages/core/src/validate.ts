// Argument validators for the TypeScript layer. Each throws the same error
// Node's own validators would, before anything reaches the kernel.
import { invalidArgType, outOfRange } from './errors';

/** 2^53 - 1: the largest byte count a JS number holds exactly. */
export const MAX_SAFE_SIZE = Number.MAX_SAFE_INTEGER;

/** An options bag: undefined becomes `{}`, anything but a plain object throws. */
export function validateOptions<T extends object>(
  options: T | undefined,
  name = 'options',
): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType(name, 'of type object', options);
  }
  return options;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

/** An optional boolean: `fallback` when undefined. */
export function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  return value === undefined ? fallback : validateBoolean(value, name);
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  return value;
}

export function validateFunction<F extends (...args: never[]) => unknown>(
  value: unknown,
  name: string,
): F {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
  return value as F;
}

/** A whole number within `min..=max`. */
export function validateInteger(
  value: unknown,
  name: string,
  min = 0,
  max = MAX_SAFE_SIZE,
): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

/** A byte count: a whole number from 1 to 2^53 - 1. */
export function validateSize(value: unknown, name = 'size'): number {
  return validateInteger(value, name, 1, MAX_SAFE_SIZE);
}

/** An optional timeout in milliseconds: a non-negative finite number, or Infinity. */
export function validateTimeout(value: unknown, name = 'timeout'): number {
  if (value === undefined) return Infinity;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (Number.isNaN(value) || value < 0) throw outOfRange(name, '>= 0', value);
  return value;
}

/** An AbortSignal, or undefined. */
export function validateAbortSignal(
  value: unknown,
  name = 'options.signal',
): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal))
    throw invalidArgType(name, 'an instance of AbortSignal', value);
  return value;
}

/** A file mode: an integer from 0 to 0o7777. */
export function validateMode(value: unknown, name = 'mode'): number {
  return validateInteger(value, name, 0, 0o7777);
}
