// A hostile peer: for every word of a channel's header (and the record
// header a receiver is about to read), writes garbage through its own
// mapping, then uses the channel every way there is. Every failure must be
// a coded shmkit error: no other exception, no crash (the parent checks the
// exit signal), no hang (every wait has a timeout), no busy loop (CPU time
// of timed waits is checked).
//   node hostile.mjs <prefix> <kind>
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { PosixShm } from '@shmkit/posix-shm';
import { Channel, decodeChannelHeader, inspectChannel } from '@shmkit/channel';

const [prefix, kind] = process.argv.slice(2);
const values = [-1, 0x80000000 | 0, 4104, 0x12345678];
const codes = new Map();
const failures = [];
let scenarios = 0;
let busy = 0;

function attempt(what, fn) {
  try {
    return fn();
  } catch (error) {
    const code = error?.code;
    if (typeof code === 'string' && code.startsWith('ERR_SHMKIT_')) {
      codes.set(code, (codes.get(code) ?? 0) + 1);
    } else if (failures.length < 20) {
      failures.push(`${what}: ${error?.stack ?? error}`);
    }
    return undefined;
  }
}

async function attemptAsync(what, fn) {
  try {
    return await fn();
  } catch (error) {
    return attempt(what, () => {
      throw error;
    });
  }
}

/**
 * CPU time of this (the main) thread, in ms: the first field of its
 * schedstat, in nanoseconds. process.cpuUsage() counts every thread, and
 * V8's garbage collector threads may run during a sleeping wait.
 */
function threadCpuMs() {
  return (
    Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
  );
}

/**
 * CPU time of a wait that should sleep: more than half its wall time means
 * it spun. Measured up to three times, so that a busy machine does not
 * count as a spin; a real busy loop spins every time.
 */
function sleeps(what, fn) {
  let worst = '';
  for (let i = 0; i < 3; i++) {
    const cpu = threadCpuMs();
    const t0 = performance.now();
    attempt(what, fn);
    const wall = performance.now() - t0;
    const ms = threadCpuMs() - cpu;
    if (wall < 5 || ms <= wall * 0.6) return;
    worst = `${what}: ${ms.toFixed(1)} ms of CPU in ${wall.toFixed(1)} ms`;
  }
  busy++;
  if (failures.length < 20) failures.push(worst);
}

const options =
  kind === 'mpsc' ? { kind, senders: 2 } : kind === 'broadcast' ? { kind, receivers: 2 } : { kind };
let n = 0;
const probe = Channel.create(`/${prefix}-probe`, { ...options, capacity: 4096, exclusive: true });
const probeRings = probe.senderSlots;
const probeSlots = probe.receiverSlots;
const used = 384 + probeRings * 384 + probeSlots * 128;
const headerBytes = probe.inspect().headerBytes;
probe.close();
Channel.unlink(`/${prefix}-probe`);

// Word indices: every word of every line in use, then the record header at the read position.
const targets = [];
for (let w = 0; w < used / 4; w++) targets.push({ where: 'header', w });
targets.push({ where: 'record', w: 0 }, { where: 'record', w: 1 });
// The words the format gives a meaning (the rest of each line is reserved).
const important = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 32, 33, 34, 35, 64]);
for (let r = 0; r < probeRings; r++)
  for (const w of [0, 1, 2, 32, 64, 65, 66, 67, 68, 69]) important.add(96 + 96 * r + w);
for (let s = 0; s < probeSlots; s++)
  for (const w of [0, 1, 2, 3]) important.add(96 + 96 * probeRings + 32 * s + w);

for (const target of targets) {
  for (const value of values) {
    scenarios++;
    const name = `/${prefix}-${n++}`;
    const channel = Channel.create(name, { ...options, capacity: 4096, exclusive: true });
    const tx = channel.sender();
    const rx = channel.receiver();
    for (let i = 0; i < 30; i++) tx.send(Buffer.alloc(40 + i, i));
    tx.flush();
    for (let i = 0; i < 10; i++) rx.receive({ timeout: 0 });
    // The hostile write, through a separate mapping of the object.
    const shm = PosixShm.open(name);
    const raw = shm.map();
    const words = raw.int32Array();
    if (target.where === 'header') {
      words[target.w] = value;
    } else {
      const info = channel.inspect();
      const pos = kind === 'broadcast' ? info.receivers[0].cursor : info.senders[0].head;
      // spsc/mpsc release in batches: the read position is where 10 records were taken.
      const at = headerBytes + (pos & 4095);
      words[at / 4 + target.w] = value;
    }
    const what = `${kind} ${target.where} word ${target.w} = ${value}`;
    for (let i = 0; i < 40; i++)
      attempt(`${what}: trySend`, () => tx.trySend(Buffer.alloc(64 + (i % 9), 1)));
    const timed = target.where === 'record' || important.has(target.w);
    if (timed) attempt(`${what}: send`, () => tx.send(Buffer.alloc(100), { timeout: 1 }));
    attempt(`${what}: flush`, () => tx.flush());
    for (let i = 0; i < 40; i++) {
      attempt(`${what}: tryReceive`, () => rx.tryReceive());
      attempt(`${what}: peek`, () => {
        const view = rx.tryPeek();
        if (view !== undefined) {
          view.reduce((a, b) => a + b, 0);
          rx.release();
        }
      });
    }
    if (timed) {
      attempt(`${what}: receive`, () => rx.receive({ timeout: 1 }));
      await attemptAsync(`${what}: receiveAsync`, () => rx.receiveAsync({ timeout: 1 }));
      await attemptAsync(`${what}: sendAsync`, () =>
        tx.sendAsync(Buffer.alloc(2000), { timeout: 1 }),
      );
    }
    if (timed && (value === -1 || value === 0x12345678)) {
      sleeps(`${what}: receive 10 ms`, () => rx.receive({ timeout: 10 }));
      // (A broadcast sender never waits: there is no full ring to wait on.)
      if (kind !== 'broadcast') {
        sleeps(`${what}: send 10 ms`, () => {
          while (tx.trySend(Buffer.alloc(1000)));
          tx.send(Buffer.alloc(1000), { timeout: 10 });
        });
      }
    }
    attempt(`${what}: inspect`, () => channel.inspect());
    attempt(`${what}: decode`, () => decodeChannelHeader(raw.read(0, headerBytes)));
    attempt(`${what}: inspectChannel`, () => inspectChannel(name));
    const other = attempt(`${what}: open`, () => Channel.open(name));
    if (other !== undefined) {
      attempt(`${what}: other sender`, () => other.sender().trySend(Buffer.alloc(8)));
      attempt(`${what}: other receiver`, () => other.receiver().tryReceive());
      other.close();
    }
    attempt(`${what}: close`, () => {
      tx.close();
      rx.close();
      channel.close();
    });
    raw.close();
    shm.close();
    PosixShm.unlink(name);
  }
}
console.log(JSON.stringify({ scenarios, busy, failures, codes: Object.fromEntries(codes) }));
