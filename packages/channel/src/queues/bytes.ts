// What a kernel queue accepts as a message body.
import { invalidArgType } from '@shmkit/core/internal';

/** A message body: bytes as they are, or a string sent as UTF-8. */
export type MessageData = string | ArrayBufferView | ArrayBuffer;

/** The bytes of `data`: a view of the caller's memory, or a new Buffer for a string. */
export function messageBytes(data: unknown, name = 'data'): ArrayBufferView | ArrayBuffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return data;
  throw invalidArgType(
    name,
    'of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer',
    data,
  );
}

/** A copy of `bytes` that the caller can no longer change or detach. */
export function ownedCopy(bytes: ArrayBufferView | ArrayBuffer): Buffer {
  return ArrayBuffer.isView(bytes)
    ? Buffer.from(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    : Buffer.from(Buffer.from(bytes));
}
