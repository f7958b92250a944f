/** An opaque native handle. Only the functions that made it accept it. */
export interface NativeHandle<Brand extends string> {
  readonly __shmkitHandle: Brand;
}

export type MappingHandle = NativeHandle<'Mapping'>;

/**
 * What a native function that maps memory returns; `Mapping` adopts it:
 * `[handle, buffer, address, byteLength]`. The buffer is absent when the
 * memory is mapped read-only (JS gets copies only) or is larger than one
 * ArrayBuffer can be (JS asks for windows).
 */
export type NativeMapping = readonly [
  handle: MappingHandle,
  buffer: ArrayBuffer | undefined,
  address: bigint,
  byteLength: number,
];

/** msync options as the native side reads them. */
export interface NativeSyncOptions {
  offset?: number | bigint;
  length?: number | bigint;
  async?: boolean;
  invalidate?: boolean;
}

/** mapFd options as the native side reads them. */
export interface NativeMapFdOptions {
  /** MAP_SHARED (default) or MAP_PRIVATE. */
  shared?: boolean;
  readOnly?: boolean;
  /** MAP_POPULATE. */
  populate?: boolean;
}

export interface CoreNative {
  pageSize(): number;
  /**
   * The largest ArrayBuffer this Node.js can make over mapped memory
   * (`buffer.constants.MAX_LENGTH`): 2^32 on Node 20 and 21, 2^53 - 1 later.
   */
  maxBufferLength(): number;
  /** Does nothing: measures the floor cost of a native call. */
  noop(): undefined;
  mapAnonymous(size: number, shared: boolean): NativeMapping;
  /**
   * Maps `length` bytes of `fd` from the page-aligned `offset`. Read-only
   * shared mappings come back without a buffer; read-only private ones are
   * copy-on-write.
   */
  mapFd(
    fd: number,
    offset: number | bigint,
    length: number,
    options?: NativeMapFdOptions,
  ): NativeMapping;
  /**
   * Detaches `buffer` (the live main buffer, which only JS holds) and every
   * window, then unmaps. False if already closed.
   */
  mappingClose(handle: MappingHandle, buffer: ArrayBuffer | undefined): boolean;
  mappingRead(handle: MappingHandle, offset?: number | bigint, length?: number | bigint): Buffer;
  /**
   * An ArrayBuffer over `length` bytes (default: to the end) from `offset`
   * (a multiple of 8), detached by close or by protect revoking its pages.
   */
  mappingWindow(
    handle: MappingHandle,
    offset?: number | bigint,
    length?: number | bigint,
  ): ArrayBuffer;
  mappingSync(handle: MappingHandle, options?: NativeSyncOptions): undefined;
  mappingSyncAsync(handle: MappingHandle, options?: NativeSyncOptions): Promise<void>;
  /**
   * mprotect over a page-aligned range. Detaches `buffer` when some page is
   * no longer read+write, and the windows over pages that are not; returns
   * the buffer JS may hold afterwards (the same one, a fresh one once
   * everything is read+write again, or undefined).
   */
  mappingProtect(
    handle: MappingHandle,
    buffer: ArrayBuffer | undefined,
    protection: string,
    options?: NativeRangeOptions,
  ): ArrayBuffer | undefined;
  /** madvise with a named advice over a page-aligned range. */
  mappingAdvise(handle: MappingHandle, advice: string, options?: NativeRangeOptions): undefined;
  /** Whether a touch found a page cut off by a truncation of the mapped file. */
  mappingTruncated(handle: MappingHandle): boolean;
  /** A truncation of the mapped file stays fatal (SIGBUS) for this mapping. */
  mappingKeepTruncationFatal(handle: MappingHandle): undefined;
  /**
   * An ArrayBuffer over the process's count (a u32, wrapping) of SIGBUS
   * faults caught in file mappings: pages cut off by a truncation, which
   * now read as zeros.
   */
  busFaults(): ArrayBuffer;
  /**
   * Copies `length` bytes from `offset` (default: as many as fit in `target`
   * and remain in the mapping) into the start of `target`; returns the count.
   */
  mappingReadInto(
    handle: MappingHandle,
    target: ArrayBufferView | ArrayBuffer,
    offset?: number | bigint,
    length?: number,
  ): number;
  /** mincore over a page-aligned range: one byte per page, 1 when resident. */
  mappingResidency(handle: MappingHandle, options?: NativeRangeOptions): Buffer;
}

/** A byte range of a mapping as the native side reads it. */
export interface NativeRangeOptions {
  offset?: number | bigint;
  length?: number | bigint;
}
