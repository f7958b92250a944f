// "Why" notes on the @shmkit/channel rows (issue #14): message rates, the
// spinning round trip and 1 MiB messages. Each note is emitted only when its
// rows are in the run and quotes this run's figures; the profile facts say
// when and how they were measured.
import { formatNs, formatRatio } from '../format.js';
import type { Row } from '../registry.js';
import type { TargetResult } from '../targets.js';

/** Where the per-operation facts below come from. */
const PROFILED_AT =
  'measured on this machine while making commits f5523d0 to d937278, with `perf record` (`--perf-basic-prof`) and `--cpu-prof` line ticks, one node process sending and receiving 64-byte messages';

function rate(ns: number): string {
  return `${(1e3 / ns).toFixed(2)} M msg/s`;
}

export function channelNotes(rows: Map<string, Row>, targets: TargetResult[]): string[] {
  const v = (id: string): number | undefined => rows.get(id)?.value;
  const status = (prefix: string): string =>
    targets.find((t) => t.target.startsWith(prefix))?.status ?? 'not judged';
  const out: string[] = [];

  const copying = v('msg.channel-64');
  const zeroCopy = v('msg.channel-zc-64');
  const uds = v('msg.uds-64');
  const copyFloor = v('msg.floor-copy-64');
  const fedCopyFloor = v('msg.floor-fed-copy-64');
  if (copying !== undefined && zeroCopy !== undefined && uds !== undefined) {
    const judged = fedCopyFloor ?? copyFloor;
    const floorNote =
      copyFloor === undefined || judged === undefined
        ? ''
        : ` The floor rows make the cheapest fresh 64-byte Buffer copy known here (the 16 words copied into a slab ` +
          `of its own and a Buffer made over them with Node's own Buffer class: what a copying receive does, without ` +
          `the ring; \`Buffer.allocUnsafe(64)\` + \`set\` takes about twice as long) in a fresh node process, as the channel's receivers run: ` +
          `${formatNs(copyFloor)} per message alone` +
          (fedCopyFloor === undefined
            ? ''
            : `, and ${formatNs(fedCopyFloor)} fed: copying the records a C producer in another process writes ` +
              `into a ring (a sequence word per record, the position given back every 64 records), so the bytes ` +
              `arrive from another core as they must for any channel. The targets are judged on the fed floor`) +
          ` (${rate(judged)}, ${formatRatio(uds / judged)} the socket's rate). A copying receive does at least ` +
          `that, so in this run 10 M msg/s was ${judged <= 100 ? 'within reach' : 'out of reach'} and 20x the ` +
          `socket ${uds / judged >= 20 ? 'within reach' : 'out of reach'} for any copying receiver, shmkit's or not.`;
    out.push(
      `**Channel message rate** (≥ 10 M msg/s: ${status('channel spsc 64 B sync')}, ≥ 20x the Unix socket: ` +
        `${status('channel spsc 64 B ≥ 20x')}). 64-byte messages cost ${formatNs(copying)} each copied ` +
        `(\`send\` + \`receive\`, ${rate(copying)}) and ${formatNs(zeroCopy)} zero-copy (\`reserve\`/\`commit\` + ` +
        `\`peek\`/\`release\`, ${rate(zeroCopy)}); the Unix socket, 64 frames corked per write, ${formatNs(uds)}.` +
        floorNote +
        ` Profile (${PROFILED_AT}): a send is 60-100 ns and a receive 130-190 ns alone in one process. The receive's ` +
        "largest part is the Buffer it returns. It is now made with Node's own Buffer class, which Buffer names as " +
        'its species (`Buffer[Symbol.species]`, the class `subarray()` uses): some 50 ns, against 80-100 ns for ' +
        '`Buffer.from(pool, offset, length)`, whose checks include a native `isAnyArrayBuffer` call (about 100 ns ' +
        'less per receive in an interleaved A/B in one process, 0.82x the spinning round trip; measured at commit ' +
        '1344c6a). `Reflect.construct` with Buffer as new.target takes over 1 µs. Then comes its share of the 8 KiB ' +
        'slab ArrayBuffer it sits in (about 3-4 µs per slab, some 25-40 ns per message, and it drives the GC). ' +
        '`TypedArray.prototype.set` from a Buffer takes 40 ns (26 ns from a plain Uint8Array), and ' +
        '`Atomics.load`/`store` are builtin calls, not inlined. With both processes busy each runs slower than alone ' +
        'on this VM (a sender that takes 60 ns alone took 150-190 ns per message here), and the VM itself runs up to ' +
        '2x slower for minutes at a time, which is why the floors are measured in the same run. Found on the way and ' +
        "fixed (each a measured win): `@shmkit/core/internal`'s re-exports had put its exports object in V8's " +
        'dictionary mode (25-40 ns per validator call from another package), and reading `byteLength` (a builtin ' +
        'call; `length` is inlined).',
    );
  }

  const iterate = v('msg.channel-iter-64');
  const iterateFloor = v('msg.floor-iter-64');
  const fedIterateFloor = v('msg.floor-fed-iter-64');
  if (iterate !== undefined && copying !== undefined) {
    const judgedIterate = fedIterateFloor ?? iterateFloor;
    const floorNote =
      iterateFloor === undefined || judgedIterate === undefined
        ? ''
        : ` Its floor, \`for await\` over the least async iterator there is (\`next()\` returns ` +
          `\`Promise.resolve({ value, done })\` with the same fresh Buffer copy) in a fresh node process, took ` +
          `${formatNs(iterateFloor)} per message alone` +
          (fedIterateFloor === undefined || fedCopyFloor === undefined || copyFloor === undefined
            ? ''
            : ` and ${formatNs(fedIterateFloor)} fed by the C producer (the floor the target is judged on). Being ` +
              `fed costs the iterator ${formatNs(fedIterateFloor - iterateFloor)} a message and the plain copies ` +
              `${formatNs(fedCopyFloor - copyFloor)}: with the other core busy the promise-heavy loop loses more, for ` +
              'a reason not pinned down here (`--single-threaded-gc` did not change it in a quick test outside the bench)') +
          `: 3 M msg/s was ` +
          `${judgedIterate <= 1e3 / 3 ? 'within reach' : 'out of reach'} for any \`for await\` receiver in this run.` +
          (copyFloor === undefined
            ? ''
            : ` That floor is its copies (${formatNs(copyFloor)}) plus ${formatNs(iterateFloor - copyFloor)} of ` +
              `promise and iterator work; the same work on top of the sync row's ${formatNs(copying)} predicts ` +
              `${formatNs(copying + iterateFloor - copyFloor)}, against ${formatNs(iterate)} measured.`);
    out.push(
      `**for await** (${status('channel spsc 64 B through for await')}). Each message costs ${formatNs(iterate)}, ` +
        `${formatRatio(iterate / copying)} the sync row: on top of the receive, a promise and a microtask turn per ` +
        'message, and the receiver is the slower side (the sender waits for room).' +
        floorNote +
        ' Resolving a promise with a Buffer costs about 230 ns against 80 ns for a plain object here (V8 looks up ' +
        '`then` on a typed array in a generic path); the iterator resolves with its `{ value, done }` object, which ' +
        'is why `for await` is cheaper per message than `await receiveAsync()`.',
    );
  }

  const spin = v('rtt.channel-spin');
  const cSpin = v('rtt.c-spin');
  const spinZeroCopy = v('rtt.channel-spin-zc');
  if (spin !== undefined && cSpin !== undefined) {
    const zeroCopyNote =
      spinZeroCopy === undefined
        ? ''
        : ` The same round trip zero-copy (no Buffer made, the bytes moved in place) took ${formatNs(spinZeroCopy)} ` +
          `(${formatRatio(spinZeroCopy / spin)} the copying row). In three filtered runs of these rows while adding it, it ` +
          'came out at 1.15x, 0.73x and 1.17x the copying row: the Buffer a copying receive makes is not the main part ' +
          'of the gap to 1 µs.';
    const nodeSpin = v('rtt.node-spin');
    const floorNote =
      nodeSpin === undefined
        ? ''
        : ` Two node processes doing the same with \`Atomics\` (its floor: no message, one word each way) took ` +
          `${formatNs(nodeSpin)}: ` +
          (nodeSpin <= 1000
            ? "1 µs is within reach of JS, and the rest is the channel's own work."
            : '1 µs was out of reach for any JS round trip in this run.');
    out.push(
      `**Spinning round trip** (${status('channel 8 B round trip with spin')}). ${formatNs(spin)} against ` +
        `${formatNs(cSpin)} for two C processes spinning on one word each.` +
        floorNote +
        ' The same memory traffic written out by hand in two node processes (a 16-byte record in a data line, ' +
        "the tail and sequence words, the receiver's hint word read by the sender and its head word, one hop each " +
        'way; measured outside the bench at commit 0767e0d) took 270-300 ns: the rest is the JS of a receive (peek, ' +
        'copy into the slab, release) and a send (claim, copy, publish) on each side, 150-400 ns for both in one ' +
        "process depending on the VM's phase, with no second vCPU involved (a spinning process beside it does not " +
        'slow it: the vCPUs are separate cores). Before commit c0bda57 the rows warmed up for 3,000 round trips, which ' +
        "ends before V8 has optimised both processes' loops: the same code measured 2.41 µs in the previous full " +
        'run, and 1.16 µs in the first filtered run with 0.3 s of warm-up. A spinning receiver now tells senders to publish at ' +
        'once (LAYOUT.md: `receiver_spinning`); before, the reply waited for the echoing side to reach its next ' +
        'wait (median 2.8 µs before, 1.3 µs after, 8 interleaved runs each outside the bench). The samples are ' +
        'means of 100 round trips, so the occasional spin that runs out (a peer preempted by V8 background threads ' +
        'on 2 vCPUs) and sleeps lands in them.' +
        zeroCopyNote,
    );
  }

  const big = v('msg.channel-peek-1m');
  const ceiling = v('msg.copy-1m');
  if (big !== undefined && ceiling !== undefined) {
    out.push(
      `**1 MiB messages** (${status('channel 1 MiB')}). ${formatNs(big)} per message against ${formatNs(ceiling)} ` +
        "for the sender's copy alone. The receiver only touches a word per page, so it is faster than the sender " +
        'and waits for every message. When it slept for each, the wake-up that followed each publish cost the ' +
        'sender some 20 µs on this VM, and the row came out at 0.30-0.69x the ceiling. A sync receive without ' +
        '`spin` now re-checks for up to 0.25 ms while its recent waits were that short (an adaptive spin, like an ' +
        "adaptive mutex's), so it mostly catches the next message without sleeping: in five interleaved filtered " +
        "runs the median went from 0.37x to 0.72x. The rest is the two cores sharing the copy's cache lines and " +
        "this VM's noise (one run came out above the ceiling).",
    );
  }
  return out;
}
