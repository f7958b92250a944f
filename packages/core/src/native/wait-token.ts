// Native functions that cancel async waits (bind/wait_token.rs).
import type { NativeHandle } from './core';

/** Cancels one async wait (semWaitCancel). */
export type WaitToken = NativeHandle<'WaitToken'>;

export interface WaitTokenNative {
  semWaitToken(): WaitToken;
  /** True if the wait is now cancelled; false if it already finished. */
  semWaitCancel(token: WaitToken): boolean;
}
