// Places fields in shared memory the way a C compiler lays out a struct, so
// users stop computing offsets by hand. It knows primitives by their name
// and everything else (Mutex, SharedEvent, Semaphore, PthreadMutex from
// @shmkit/sync, or another Layout) by its `byteLength` and `alignment`, so
// core needs no knowledge of the packages that define them.
import { invalidArgType, invalidArgValue, outOfRange } from './errors';
import type { Mapping } from './mapping';
import { MAX_SAFE_SIZE, validateInteger } from './validate';

/** A primitive field: its name says its size, which is also its alignment. */
export type Scalar =
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'float32'
  | 'float64'
  | 'bigint64'
  | 'biguint64';

/**
 * Anything with a size and an alignment: the classes of `@shmkit/sync`
 * (`Mutex`, `SharedEvent`, `Semaphore`, `PthreadMutex`) through their static
 * `byteLength` and `alignment`, or another {@link Layout}.
 */
export interface Placeable {
  readonly byteLength: number;
  readonly alignment: number;
}

/** One field: a primitive or a placeable, alone or as `[element, count]`. */
export type FieldSpec = Scalar | Placeable | readonly [Scalar | Placeable, number];

/** Where a field landed. */
export interface FieldPlacement {
  /** Byte offset from the start of the layout; a multiple of `alignment`. */
  readonly offset: number;
  /** Bytes the field spans (all elements, with the padding between them). */
  readonly byteLength: number;
  readonly alignment: number;
  /** Elements: 1 for a single field. */
  readonly count: number;
  /** Bytes from one element to the next. */
  readonly stride: number;
  /** The primitive, for fields that {@link Layout.view} can make a view of. */
  readonly scalar: Scalar | undefined;
}

/** The TypedArray of each primitive. */
export interface ScalarViews {
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  float32: Float32Array;
  float64: Float64Array;
  bigint64: BigInt64Array;
  biguint64: BigUint64Array;
}

/** The TypedArray that {@link Layout.view} returns for a field spec. */
export type ViewOf<S> = S extends Scalar
  ? ScalarViews[S]
  : S extends readonly [infer E extends Scalar, number]
    ? ScalarViews[E]
    : never;

/** The names of a layout's primitive fields (the ones with a view). */
export type ScalarField<F> = {
  [K in keyof F]: F[K] extends Scalar | readonly [Scalar, number] ? K : never;
}[keyof F] &
  string;

const SCALARS: Record<Scalar, { size: number; method: keyof Mapping & `${string}Array` }> = {
  int8: { size: 1, method: 'int8Array' },
  uint8: { size: 1, method: 'uint8Array' },
  int16: { size: 2, method: 'int16Array' },
  uint16: { size: 2, method: 'uint16Array' },
  int32: { size: 4, method: 'int32Array' },
  uint32: { size: 4, method: 'uint32Array' },
  float32: { size: 4, method: 'float32Array' },
  float64: { size: 8, method: 'float64Array' },
  bigint64: { size: 8, method: 'bigInt64Array' },
  biguint64: { size: 8, method: 'bigUint64Array' },
};

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Reads one field spec once (getters included) into its size, alignment and count. */
function measure(
  name: string,
  spec: unknown,
): { size: number; alignment: number; count: number; scalar: Scalar | undefined } {
  const where = `fields.${name}`;
  let element: unknown = spec;
  let count = 1;
  if (Array.isArray(spec)) {
    const [first, n] = spec as unknown[];
    if (spec.length !== 2) throw invalidArgValue(where, 'must be [element, count]', spec);
    element = first;
    count = validateInteger(n, `${where}[1]`, 1);
  }
  if (typeof element === 'string') {
    const scalar = SCALARS[element as Scalar];
    if (!Object.hasOwn(SCALARS, element) || !scalar) {
      throw invalidArgValue(where, `must be one of ${Object.keys(SCALARS).join(', ')}`, element);
    }
    return { size: scalar.size, alignment: scalar.size, count, scalar: element as Scalar };
  }
  if ((typeof element !== 'object' && typeof element !== 'function') || element === null) {
    throw invalidArgType(
      where,
      'a primitive name or an object with byteLength and alignment',
      element,
    );
  }
  const { byteLength, alignment } = element as Partial<Placeable>;
  const size = validateInteger(byteLength, `${where}.byteLength`, 1);
  const align = validateInteger(alignment, `${where}.alignment`, 1, 4096);
  if ((align & (align - 1)) !== 0) {
    throw invalidArgValue(`${where}.alignment`, 'must be a power of 2', align, 'RangeError');
  }
  return { size, alignment: align, count, scalar: undefined };
}

/**
 * Fields placed in declaration order, each at the next multiple of its
 * alignment, the total padded to the largest alignment: the layout of the
 * equivalent C struct, so C code can use the same offsets. Make one with
 * {@link layout}.
 */
export class Layout<F extends Record<string, FieldSpec> = Record<string, FieldSpec>>
  implements Placeable
{
  /** Total size in bytes, padded so that arrays of this layout stay aligned. */
  readonly byteLength: number;
  /** The largest alignment of any field: where a layout may start. */
  readonly alignment: number;
  /** Every field's byte offset, by name. */
  readonly offsets: { readonly [K in keyof F]: number };
  /** Every field's offset, size, alignment, count and stride, by name. */
  readonly fields: { readonly [K in keyof F]: FieldPlacement };

  /** Lays out `fields`; the same as {@link layout}. */
  constructor(fields: F) {
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      throw invalidArgType('fields', 'of type object', fields);
    }
    const placed: Record<string, FieldPlacement> = {};
    let end = 0;
    let alignment = 1;
    for (const name of Object.keys(fields)) {
      // Integer-like keys are enumerated first, whatever their place in the
      // source: the order would not be the one the reader wrote.
      if (/^(0|[1-9]\d*)$/.test(name)) {
        throw invalidArgValue('fields', `must not have integer-like names such as '${name}'`, name);
      }
      const { size, alignment: align, count, scalar } = measure(name, fields[name]);
      const stride = alignUp(size, align);
      const offset = alignUp(end, align);
      const byteLength = stride * (count - 1) + size;
      end = offset + byteLength;
      if (end > MAX_SAFE_SIZE)
        throw outOfRange('fields', `at most ${MAX_SAFE_SIZE} bytes in all`, end);
      alignment = Math.max(alignment, align);
      placed[name] = Object.freeze({ offset, byteLength, alignment: align, count, stride, scalar });
    }
    this.byteLength = alignUp(end, alignment);
    this.alignment = alignment;
    this.fields = Object.freeze(placed) as Layout<F>['fields'];
    this.offsets = Object.freeze(
      Object.fromEntries(Object.entries(placed).map(([name, f]) => [name, f.offset])),
    ) as Layout<F>['offsets'];
    Object.freeze(this);
  }

  #field(name: unknown): FieldPlacement {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    const field = Object.hasOwn(this.fields, name) ? this.fields[name] : undefined;
    if (!field) {
      throw invalidArgValue('name', `must be one of ${Object.keys(this.fields).join(', ')}`, name);
    }
    return field;
  }

  #base(base: unknown): number {
    const value = validateInteger(base, 'base', 0);
    if (value % this.alignment !== 0) {
      throw invalidArgValue(
        'base',
        `must be a multiple of the layout's alignment (${this.alignment})`,
        value,
        'RangeError',
      );
    }
    return value;
  }

  /**
   * The byte offset of field `name` (of its element `index`, for an array
   * field), for a layout that starts at byte `base` of the memory.
   */
  offsetOf(name: keyof F & string, index = 0, base = 0): number {
    const field = this.#field(name);
    const i = validateInteger(index, 'index', 0, field.count - 1);
    return this.#base(base) + field.offset + i * field.stride;
  }

  /**
   * A zero-copy view of a primitive field in `mapping` (all its elements),
   * for a layout that starts at byte `base`: an `Int32Array` of length 1
   * for an `'int32'` field, a `Float64Array` of length 1024 for
   * `['float64', 1024]`.
   */
  view<K extends ScalarField<F>>(mapping: Mapping, name: K, base = 0): ViewOf<F[K]> {
    const field = this.#field(name);
    if (field.scalar === undefined) {
      throw invalidArgValue('name', 'must name a primitive field (use offsetOf for others)', name);
    }
    const start = this.#base(base) + field.offset;
    const { method } = SCALARS[field.scalar];
    return (mapping[method] as (offset: number, length: number) => unknown).call(
      mapping,
      start,
      field.count,
    ) as ViewOf<F[K]>;
  }
}

/**
 * Lays out `fields` like a C struct: in the order written, each at the
 * next multiple of its alignment, the total padded to the largest one.
 *
 * ```ts
 * const shared = layout({
 *   lock: Mutex, // from @shmkit/sync: 4 bytes, 4-aligned
 *   count: 'int32',
 *   ready: SharedEvent, // 16 bytes, 4-aligned
 *   samples: ['float64', 1024], // 8-aligned: lands at 24
 * });
 * shared.offsets.samples; // 24
 * shared.byteLength; // 8216
 * Mutex.init(memory, shared.offsets.lock);
 * const samples = shared.view(memory, 'samples'); // Float64Array(1024)
 * ```
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE for fields that are not an object,
 *   or a field that is neither a primitive name nor `{ byteLength, alignment }`.
 * @throws ERR_INVALID_ARG_VALUE for an unknown primitive, an alignment that
 *   is not a power of 2, integer-like field names (their order is not kept).
 * @throws RangeError ERR_OUT_OF_RANGE for counts or sizes below 1 or too large.
 */
export function layout<const F extends Record<string, FieldSpec>>(fields: F): Layout<F> {
  return new Layout(fields);
}
