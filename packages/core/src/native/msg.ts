// Native functions of the System V message queue area (bind/msg.rs).

/** A received message; `type` is a bigint when flags had 4. */
export interface NativeMsgMessage {
  type: number | bigint;
  data: Buffer;
}

/** IPC_STAT's msqid_ds. Times are null when the event never happened. */
export interface NativeMsgStat {
  id: number;
  key: number;
  mode: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  /** msg_qnum. */
  messages: number;
  /** msg_cbytes. */
  bytes: number;
  /** msg_qbytes. */
  maxBytes: number;
  lspid: number;
  lrpid: number;
  stime: Date | null;
  rtime: Date | null;
  ctime: Date | null;
}

/** IPC_INFO. */
export interface NativeMsgLimits {
  msgmax: number;
  msgmnb: number;
  msgmni: number;
}

export interface MsgNative {
  /** msgget. `access` (0 read, 1 write, 2 both) is what an existing queue must grant. */
  msgGet(key: number, create: boolean, exclusive: boolean, mode: number, access: 0 | 1 | 2): number;
  /** `timeout` in ms (0: try once, Infinity: forever). False when it ran out. */
  msgSend(
    id: number,
    type: number | bigint,
    data: ArrayBufferView | ArrayBuffer,
    timeout: number,
  ): boolean;
  /**
   * flags: 1 MSG_EXCEPT, 2 MSG_NOERROR, 4 type as a bigint. `maxSize`
   * undefined: kernel.msgmax. Undefined when the timeout ran out.
   */
  msgReceive(
    id: number,
    type: number | bigint,
    flags: number,
    maxSize: number | undefined,
    timeout: number,
  ): NativeMsgMessage | undefined;
  /**
   * Waits on the wait engine's pool for room for `data`: resolves 1 once it
   * would fit (nothing was sent: send it now), 2 when the wait sent it itself
   * (a queue this process may write but not read), undefined once `timeout`
   * ms passed. `group` and `flags` as for the other async waits (waitGroup;
   * bit 0: do not keep the event loop alive).
   */
  msgSendAsync(
    id: number,
    type: number | bigint,
    data: ArrayBufferView | ArrayBuffer,
    timeout: number,
    group: number,
    flags: number,
  ): Promise<1 | 2 | undefined>;
  /**
   * Waits on the wait engine's pool for a message `type` and `flags` (as
   * for msgReceive) select: resolves true once one is queued (nothing was
   * taken: receive it now), with the message itself when it has no text
   * (the look took it), undefined once `timeout` ms passed.
   */
  msgReceiveAsync(
    id: number,
    type: number | bigint,
    flags: number,
    timeout: number,
    group: number,
    waitFlags: number,
  ): Promise<true | NativeMsgMessage | undefined>;
  msgStat(id: number): NativeMsgStat;
  /** IPC_SET of the fields given. */
  msgSet(
    id: number,
    uid: number | undefined,
    gid: number | undefined,
    mode: number | undefined,
    maxBytes: number | undefined,
  ): undefined;
  msgRemove(id: number): undefined;
  msgLimits(): NativeMsgLimits;
}
