// "Why" notes for the report: each is emitted only when its subject is in
// the run, quotes this run's figures, and names the profile it rests on.
import { formatNs, formatRatio } from '../format.js';
import type { Row } from '../registry.js';
import type { TargetResult } from '../targets.js';
import { channelNotes } from './analysis-channel.js';
import { waitNotes } from './analysis-waits.js';

/** Profile facts measured with callgrind (instructions per call), see tooling/bench/README.md. */
const PROFILED_AT =
  'callgrind, instructions per call, measured once on this machine at commit 7f169fe';

export function analysis(rows: Map<string, Row>, targets: TargetResult[]): string[] {
  const v = (id: string): number | undefined => rows.get(id)?.value;
  const status = (prefix: string): TargetResult['status'] | undefined =>
    targets.find((t) => t.target.startsWith(prefix))?.status;
  const out: string[] = [];

  const c = v('call.c-addon-noop');
  const cArgs = v('call.c-addon-noop-args');
  const shm = v('call.shmkit-noop');
  if (c !== undefined && cArgs !== undefined && shm !== undefined) {
    out.push(
      `**Native call overhead** (${status('Node-API noop') ?? 'not judged'}). A C addon function that does what every ` +
        `binding does (\`napi_get_cb_info\` for 8 arguments, \`napi_get_undefined\`) already costs ${formatRatio(cArgs / c)} ` +
        `the bare C noop in this run; shmkit's noop costs ${formatRatio(shm / cArgs)} that row. Profile (${PROFILED_AT}): ` +
        'bare C noop 108, C noop with args 219, shmkit noop 325 (353 before `check()` got an inlined success test). ' +
        "Node-API's own share of shmkit's call is 85 (`napi_get_cb_info`, 8 slots) + 14 (`napi_get_undefined`); the Rust " +
        'trampoline adds 79 (it copies the 8-slot argv array and a ~80-byte `JsResult`) and `noop` 23. Reaching 2x needs ' +
        'the glue to fetch arguments lazily (only the data pointer for calls without arguments), return NULL for ' +
        'undefined, and box the error side of `JsResult` so results are returned in registers.',
    );
  }

  const mapA = v('map.anonymous');
  const mapF = v('map.fd');
  const cA = v('map.c-anonymous');
  const cF = v('map.c-fd');
  if (mapA !== undefined && mapF !== undefined && cA !== undefined && cF !== undefined) {
    out.push(
      `**map+close** (mapAnonymous: ${status('map+close ≤ 10 µs (mapAnonymous)') ?? 'not judged'}, mapFd: ` +
        `${status('map+close ≤ 10 µs (mapFd') ?? 'not judged'}). The kernel floor in this run is ${formatNs(cA)} for ` +
        `an anonymous \`MAP_SHARED\` page (the kernel creates a shmem file for each one) and ${formatNs(cF)} for a file page; ` +
        `shmkit adds ${formatNs(mapA - cA)} and ${formatNs(mapF - cF)}. Profile (${PROFILED_AT}): about 31,000 user-space ` +
        'instructions per `mapFd` + `mappingClose`: the `{ handle, buffer, address, byteLength }` result built with four ' +
        '`napi_set_named_property` calls, each a V8 map transition (8,100); the external ArrayBuffer (7,000: Node makes ' +
        'an external Buffer and takes its ArrayBuffer); the three option properties read by name (5,300: every ' +
        '`napi_get_named_property` internalizes its key string); C-string allocations for those names. Cheaper: one ' +
        '`napi_define_properties` call (or a fixed-shape array) for the result, cached key strings (`napi_ref`) or ' +
        'positional booleans for the options. Under load the kernel part dominates and varies most.',
    );
  }

  const ring = rows.get('sync.bulk-ring');
  const alone = v('bulk.copy-alone');
  if (ring?.value !== undefined && alone !== undefined) {
    const memcpy = v('bulk.c-memcpy');
    out.push(
      `**Bulk** (${status('Bulk') ?? 'not judged'}). The ceiling is the ring's own producer with nobody to wait ` +
        'for: a fresh node process doing the same `TypedArray.set` of the same 16 chunks into the same 4 x 1 MiB ' +
        'slots of a fresh shared file. The ring does exactly those copies plus the waits, while the consumer reads ' +
        'every line on the other core, so it cannot beat it; a ratio above 1 would mean the two runs saw different ' +
        'machines (noise), and is reported as such. The ring moves each chunk with one copy and one read running at ' +
        'the same time on the two cores, so on a machine with other work one side often waits for a CPU; spinning ' +
        'longer then makes it worse, not better (it takes the CPU from the peer). ' +
        (memcpy === undefined
          ? ''
          : `glibc's memcpy of the same chunks (a C program, information only) ran at ${formatRatio(memcpy / alone)} the ` +
            "producer's copy rate. ") +
        `The Unix socket stream reaches ${formatRatio((v('bulk.uds') ?? 0) / ring.value)} of the ring.`,
    );
  }

  const shared = v('scan.mmap');
  const readSync = v('scan.readsync');
  if (shared !== undefined && readSync !== undefined) {
    out.push(
      `**File scan**. A \`MAP_SHARED\` mapping of a cached file scans at ${formatRatio(shared / readSync)} the speed of ` +
        'chunked `readSync` here: the mapping saves the copy but takes a page fault per few pages, which ' +
        '`MAP_POPULATE` batches into the map call. Two traps seen while building this bench: a private, writable ' +
        'file mapping (copy-on-write) scanned about 3x slower than a shared one, and `MAP_POPULATE` on it copies ' +
        'every page, because populate pre-faults for write. `readFileSync` pays for a fresh 512 MiB allocation ' +
        '(page faults on new anonymous memory) on top of the copy.',
    );
  }

  const futex = v('rtt.c-futex');
  const nodeFutex = v('rtt.node-c-futex');
  const blocking = v('sync.rtt-blocking');
  const uds = v('rtt.uds');
  if (nodeFutex !== undefined && blocking !== undefined && uds !== undefined) {
    out.push(
      `**Blocking round trip** (${status('Blocking RTT ≤ 1.1x') ?? 'not judged'}). The floor is two node processes ` +
        'parking with a minimal C futex addon: the same processes, the same futex system calls, nothing else. ' +
        `shmkit's blocking event ping-pong takes ${formatRatio(blocking / nodeFutex)} of it and is ` +
        `${formatRatio(uds / blocking)} faster than the Unix socket in this run. A ratio below 1 (shmkit faster than ` +
        'its floor) is within noise and is reported as the floor being wrong, never as the target met.',
    );
  }
  if (futex !== undefined) {
    out.push(
      '**Reading the latencies**. Blocking round trips depend on whether the CPUs idle between wake-ups, and a ' +
        'wake-up from idle is expensive in a VM. Two C processes that do nothing but ping-pong let their CPUs idle, ' +
        'node processes with their helper threads less so: on one host of this VM the C pair came out 7x slower ' +
        'than node with a C futex addon. So the C futex row is information, not a floor' +
        (nodeFutex === undefined
          ? ''
          : ` (${formatRatio(futex / nodeFutex)} the node floor in this run)`) +
        '; compare rows of the same run only, and mind the load average at start in the machine table.',
    );
  }
  out.push(...waitNotes(rows, targets));
  out.push(...channelNotes(rows, targets));
  return out;
}
