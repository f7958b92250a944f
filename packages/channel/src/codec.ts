// How values become message bytes and back. 'bytes' sends any
// ArrayBufferView or ArrayBuffer and receives Buffers; 'string' is UTF-8;
// 'json' is JSON text in UTF-8; 'v8' is node:v8's structured clone format.
import { deserialize } from 'node:v8';
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

/** The bytes of a 'bytes' message, without copying. */
export function viewOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer)
    return new Uint8Array(value);
  throw invalidArgType(
    'message',
    'an instance of ArrayBuffer, SharedArrayBuffer or ArrayBufferView',
    value,
  );
}

/** The text of a 'string' or 'json' message. */
export function textOf(value: unknown, codec: number): string {
  if (codec === STRING) {
    if (typeof value !== 'string') throw invalidArgType('message', 'of type string', value);
    return value;
  }
  const text: unknown = JSON.stringify(value);
  if (typeof text !== 'string')
    throw invalidArgValue('message', 'has no JSON form (undefined, a function or a symbol)', value);
  return text;
}

/** Decodes the bytes of a message that are already a private copy (v8). */
export function decodeV8(copy: Uint8Array): unknown {
  return deserialize(copy);
}
