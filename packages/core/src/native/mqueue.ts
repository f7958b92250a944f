// Native functions of the POSIX message queue area (bind/mqueue.rs).
import type { NativeHandle } from './core';

/** An open POSIX message queue descriptor. */
export type MqHandle = NativeHandle<'PosixMessageQueue'>;

/** What mqOpen returns. */
export interface NativeMqOpened {
  handle: MqHandle;
  fd: number;
  /** True when this call created the queue. */
  created: boolean;
  /** mq_maxmsg. */
  maxMessages: number;
  /** mq_msgsize. */
  messageSize: number;
}

/** mq_getattr. */
export interface NativeMqAttributes {
  /** O_NONBLOCK on this descriptor. */
  nonBlocking: boolean;
  maxMessages: number;
  messageSize: number;
  /** Messages in the queue now (mq_curmsgs). */
  currentMessages: number;
}

/** fstat of a queue descriptor. */
export interface NativeMqStat {
  mode: number;
  uid: number;
  gid: number;
}

/** /proc/sys/fs/mqueue, plus the largest priority. */
export interface NativeMqLimits {
  queuesMax: number;
  msgMax: number;
  msgsizeMax: number;
  msgDefault: number;
  msgsizeDefault: number;
  priorityMax: number;
}

/** A received message. */
export interface NativeMqMessage {
  data: Buffer;
  priority: number;
}

export interface MqNative {
  /**
   * mq_open. `flags`: access (0 read, 1 write, 2 both) | 4 O_CREAT | 8
   * O_EXCL. A new queue gets exactly `mode`; a capacity with one number
   * missing takes the system default for it.
   */
  mqOpen(
    name: string,
    flags: number,
    mode: number,
    maxMessages: number | undefined,
    messageSize: number | undefined,
  ): NativeMqOpened;
  /** Lets go of the descriptor (pending waits reject); false if already closed. */
  mqClose(handle: MqHandle): boolean;
  mqUnlink(name: string): undefined;
  mqGetAttr(handle: MqHandle): NativeMqAttributes;
  /** mq_setattr of O_NONBLOCK; the attributes from before. */
  mqSetAttr(handle: MqHandle, nonBlocking: boolean): NativeMqAttributes;
  mqStat(handle: MqHandle): NativeMqStat;
  /** `timeout` in ms (0: try once, Infinity: forever). False when it ran out. */
  mqSend(
    handle: MqHandle,
    data: ArrayBufferView | ArrayBuffer,
    priority: number,
    timeout: number,
  ): boolean;
  /** `timeout` as for mqSend; undefined when it ran out. */
  mqReceive(handle: MqHandle, timeout: number): NativeMqMessage | undefined;
  /**
   * Waits on the wait engine until the queue has a message (or room, with
   * `writable`): resolves with the poll events that fired, or -1 once
   * `timeout` ms passed. Takes nothing from the queue. `group` (0 for none)
   * comes from waitGroup; `flags` bit 0 (1) makes the wait not keep the
   * event loop alive. Rejects with ERR_SHMKIT_CLOSED after mqClose.
   */
  mqWaitAsync(
    handle: MqHandle,
    writable: boolean,
    timeout: number,
    group: number,
    flags: number,
  ): Promise<number>;
  mqLimits(): NativeMqLimits;
}
