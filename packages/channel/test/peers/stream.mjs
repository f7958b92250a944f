// A test peer: sends or receives a deterministic stream of messages.
//   node stream.mjs send <name> <count> <seed> [maxLength] [api]
//   node stream.mjs recv <name> <count|all> [senders] [api]
// Message i of sender s: 8-byte header (u32 s, u32 i), then bytes
// (i * 31 + s + k) & 0xff. Lengths are pseudo-random from the seed, so
// records of every size cross the ring's end.
import { Channel } from '@shmkit/channel';

const [role, name, countArg, a, b, c] = process.argv.slice(2);

function lengthOf(seed, i, max) {
  let x = (Math.imul(i + 1, 0x9e3779b1) ^ seed) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x85ebca6b) >>> 0;
  return 8 + (x % (max - 7));
}
function fill(view, s, i) {
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  dv.setUint32(0, s, true);
  dv.setUint32(4, i, true);
  for (let k = 8; k < view.length; k++) view[k] = (i * 31 + s + k) & 0xff;
}

if (role === 'send') {
  const count = Number(countArg);
  const max = Number(b ?? 300);
  const api = c ?? 'mixed';
  const channel = Channel.open(name);
  const tx = channel.sender();
  // 'slot': the sender id is the slot it got (mpsc); 'id:N': it is N. Either
  // way the lengths follow seed = id + 1. Otherwise id 0 and the given seed.
  const s = a === 'slot' ? tx.slot : a.startsWith('id:') ? Number(a.slice(3)) : 0;
  const seed = a === 'slot' || a.startsWith('id:') ? s + 1 : Number(a);
  const scratch = new Uint8Array(max + 8);
  for (let i = 0; i < count; i++) {
    const length = lengthOf(seed, i, max);
    const mode = api === 'mixed' ? i % 3 : api === 'send' ? 0 : api === 'reserve' ? 1 : 3;
    if (mode === 0) {
      const view = scratch.subarray(0, length);
      fill(view, s, i);
      tx.send(view);
    } else if (mode === 1) {
      const view = tx.reserve(length);
      fill(view, s, i);
      tx.commit();
    } else if (mode === 2) {
      const at = tx.reserveOffset(length + 5);
      fill(tx.memory.subarray(at, at + length), s, i);
      tx.commit(length);
    } else {
      const view = scratch.subarray(0, length);
      fill(view, s, i);
      await tx.sendAsync(view);
    }
  }
  tx.close();
  channel.close();
  console.log(`sent ${count}`);
} else {
  const count = countArg === 'all' ? Infinity : Number(countArg);
  const senders = Number(a ?? 1);
  const api = b ?? 'mixed';
  const channel = Channel.open(name);
  const rx = channel.receiver();
  process.stdout.write('ready\n');
  const next = new Array(senders).fill(0);
  const seeds = (c ?? '').split(',').map(Number);
  let received = 0;
  let bad = 0;
  const check = (view) => {
    const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
    const s = dv.getUint32(0, true);
    const i = dv.getUint32(4, true);
    if (s >= senders || i !== next[s]) {
      if (bad++ < 5) console.error(`out of order: sender ${s} message ${i}, expected ${next[s]}`);
      return;
    }
    if (
      seeds[s] !== undefined &&
      !Number.isNaN(seeds[s]) &&
      view.length !== lengthOf(seeds[s], i, 300)
    )
      bad++;
    for (let k = 8; k < view.length; k++)
      if (view[k] !== ((i * 31 + s + k) & 0xff)) {
        bad++;
        break;
      }
    next[s] = i + 1;
    received++;
  };
  try {
    if (api === 'iterate') {
      for await (const m of rx) {
        check(m);
        if (received >= count) break;
      }
    } else {
      while (received < count) {
        const mode = api === 'mixed' ? received % 3 : api === 'receive' ? 0 : 1;
        if (mode === 0) check(rx.receive());
        else if (mode === 1) {
          const v = rx.peek();
          check(v);
          rx.release();
        } else check(await rx.receiveAsync());
      }
    }
  } catch (error) {
    if (error.code !== 'ERR_SHMKIT_CHANNEL_ENDED') throw error;
  }
  channel.close();
  console.log(JSON.stringify({ received, bad, next }));
}
