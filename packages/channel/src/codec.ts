// How values become message bytes and back. 'bytes' sends any
// ArrayBufferView or ArrayBuffer and receives Buffers; 'string' is UTF-8;
// 'json' is JSON text in UTF-8; 'v8' is node:v8's structured clone format.
import { deserialize, serialize } from 'node:v8';
import { invalidArgType, invalidArgValue } from '@shmkit/core/internal';
import { CODEC, type Codec } from './layout';

export const BYTES = CODEC.bytes;
export const STRING = CODEC.string;
export const JSON_TEXT = CODEC.json;
export const V8 = CODEC.v8;

/** What a receiver with each codec returns. */
export interface CodecOutput {
  /** A copy of the message's bytes. */
  bytes: Buffer;
  /** The message decoded as UTF-8. */
  string: string;
  /** The message parsed as JSON. */
  json: unknown;
  /** The message deserialized with `node:v8`. */
  v8: unknown;
}

/** The value type a receiver with codec `C` returns. */
export type Decoded<C extends Codec> = CodecOutput[C];

/**
 * What a sender accepts for a channel whose receivers get `T`: any
 * ArrayBufferView or ArrayBuffer when they get bytes, `T` itself otherwise.
 */
export type Encodable<T> = [T] extends [Uint8Array] ? ArrayBufferView | ArrayBuffer : T;

export function codecOption(value: unknown, fallback: Codec, name = 'options.codec'): Codec {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !Object.hasOwn(CODEC, value))
    throw invalidArgValue(name, "must be 'bytes', 'string', 'json' or 'v8'", value);
  return value as Codec;
}

/**
 * %TypedArray%.prototype's `length` getter: the element count `set()`
 * copies, which an own `length` property on the view cannot change.
 */
const intrinsicLength = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  'length',
)?.get as (this: Uint8Array) => number;

/**
 * How many bytes `TypedArray.prototype.set` copies from a view that
 * {@link viewOf} returned: the record is sized from this, never from the
 * view's `length` property, which a caller can redefine.
 */
export function byteCount(view: Uint8Array): number {
  return intrinsicLength.call(view);
}

/** The bytes of a 'bytes' message, without copying. */
export function viewOf(value: unknown): Uint8Array {
  // isView first: a Proxy of a view, or an object that merely inherits
  // from Uint8Array.prototype, is not one.
  if (ArrayBuffer.isView(value)) {
    if (value instanceof Uint8Array) return value;
    return wrap(() => new Uint8Array(value.buffer, value.byteOffset, value.byteLength), value);
  }
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer)
    return wrap(() => new Uint8Array(value), value);
  throw invalidArgType(
    'message',
    'an instance of ArrayBuffer, SharedArrayBuffer or ArrayBufferView',
    value,
  );
}

/** A Uint8Array over a message's memory; a detached or out-of-bounds one is refused by code. */
function wrap(make: () => Uint8Array, value: unknown): Uint8Array {
  try {
    return make();
  } catch {
    throw detached(value);
  }
}

/**
 * `target.set(view, at)` for a view from {@link viewOf}: a resizable buffer
 * shrunk (or a buffer detached) since then is refused by code.
 */
export function copyMessage(
  target: Uint8Array,
  view: Uint8Array,
  at: number,
  message: unknown,
): void {
  try {
    target.set(view, at);
  } catch {
    throw detached(message);
  }
}

function detached(value: unknown): Error {
  return invalidArgValue('message', 'is detached or out of bounds', value);
}

/** The text of a 'string' or 'json' message. */
export function textOf(value: unknown, codec: number): string {
  if (codec === STRING) {
    if (typeof value !== 'string') throw invalidArgType('message', 'of type string', value);
    return value;
  }
  let text: unknown;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // V8's own refusals (a cycle, a BigInt) are TypeErrors; anything else
    // is the value's own toJSON or getter throwing, which is the caller's.
    if (error instanceof TypeError) throw unencodable('JSON', value, error);
    throw error;
  }
  if (typeof text !== 'string')
    throw invalidArgValue('message', 'has no JSON form (undefined, a function or a symbol)', value);
  return text;
}

/** A value `node:v8` serializes: a function, symbol, Proxy or SharedArrayBuffer is refused by code. */
export function serializeV8(value: unknown): Uint8Array {
  try {
    return serialize(value);
  } catch (error) {
    // The serializer's own refusal is a plain Error "... could not be
    // cloned."; anything else is a getter of the value throwing.
    if (
      error instanceof Error &&
      error.constructor === Error &&
      error.message.endsWith(' could not be cloned.')
    )
      throw unencodable('node:v8 serialization', value, error);
    throw error;
  }
}

/** ERR_INVALID_ARG_VALUE for a value the codec cannot encode; the refusal is its cause. */
function unencodable(format: string, value: unknown, cause: Error): Error {
  return Object.assign(
    invalidArgValue('message', `has no ${format} form (${cause.message})`, value),
    {
      cause,
    },
  );
}

/** Decodes the bytes of a message that are already a private copy (v8). */
export function decodeV8(copy: Uint8Array): unknown {
  return deserialize(copy);
}
