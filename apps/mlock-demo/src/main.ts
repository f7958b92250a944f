// Locks an anonymous mapping into RAM and shows what the kernel counts:
// VmLck (locked bytes, checked against RLIMIT_MEMLOCK) and VmRSS (resident).
import { mapAnonymous, pageSize } from '@shmkit/core';
import { canLock, limits, lock, lockedBytes } from '@shmkit/mlock';
import { readFileSync } from 'node:fs';

function kib(bytes: number): string {
  return bytes === Infinity ? 'unlimited' : `${(bytes / 1024).toLocaleString('en')} KiB`;
}

function resident(): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kb) * 1024;
}

function show(label: string): void {
  console.log(
    `  ${label.padEnd(34)} VmLck ${kib(lockedBytes()).padStart(10)}   VmRSS ${kib(resident()).padStart(10)}`,
  );
}

const limit = limits();
console.log(
  `RLIMIT_MEMLOCK soft ${kib(limit.soft)}, hard ${kib(limit.hard)}; CAP_IPC_LOCK: ${limit.privileged ? 'yes (no limit applies)' : 'no'}`,
);

// Ask before locking: 4 MiB if allowed, else whatever fits under the limit.
const page = pageSize();
let size = 4 << 20;
if (!canLock(size)) size = Math.floor((limit.soft - lockedBytes()) / page / 2) * page;
if (size < page || !canLock(size)) {
  console.log(
    'this process may not lock memory here (raise `ulimit -l` or grant CAP_IPC_LOCK); nothing to show',
  );
  process.exit(0);
}

{
  using mapping = mapAnonymous(size);
  console.log(`\nplain lock of a ${kib(size)} mapping (mlock: every page faulted in now)`);
  show('before');
  {
    using held = lock(mapping);
    show(`locked ${kib(held.byteLength)}`);
  }
  show('after unlock');
}

{
  using mapping = mapAnonymous(size);
  console.log(
    `\nonFault lock of a ${kib(size)} mapping (mlock2 MLOCK_ONFAULT: pages lock as they are touched)`,
  );
  show('before');
  using held = lock(mapping, { onFault: true });
  show('locked, nothing touched yet');
  const bytes = new Uint8Array(mapping.buffer);
  for (let at = 0; at < size / 2; at += page) bytes[at] = 1;
  show('after touching half of it');
  held.unlock();
  show('after unlock');
}

// The kernel locks whole pages: 100 bytes of a Buffer lock the page(s) they
// sit on, neighbouring heap data included.
const small = Buffer.alloc(100);
{
  using held = lock(small);
  console.log(
    `\nlocking a 100-byte Buffer locks ${held.byteLength} bytes (${held.byteLength / page} page(s))`,
  );
}
console.log(`done; VmLck back to ${kib(lockedBytes())}`);
