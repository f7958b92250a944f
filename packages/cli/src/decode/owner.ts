// Who a lock word names as its owner: a thread id, which may be alive, a
// zombie, or gone. Checked through /proc, in this PID namespace only.
import { commandName, isAlive, threadGroup } from '../sources/processes';

/** A thread id as `inspect` shows it, with whether it is alive. */
export interface OwnerThread {
  tid: number;
  alive: boolean;
  /** The process it is a thread of, when alive. */
  pid: number | null;
  command: string | null;
}

export function ownerThread(tid: number): OwnerThread {
  const alive = isAlive(tid);
  const pid = alive ? (threadGroup(tid) ?? null) : null;
  return { tid, alive, pid, command: pid === null ? null : commandName(pid) };
}

/** `tid 4242 (pid 4240 node), alive` / `tid 4242, dead`. */
export function describeOwner(owner: OwnerThread): string {
  if (!owner.alive) return `tid ${owner.tid}, dead (no such thread in this PID namespace)`;
  const of =
    owner.pid === null ? '' : ` (pid ${owner.pid}${owner.command ? ` ${owner.command}` : ''})`;
  return `tid ${owner.tid}${of}, alive`;
}
