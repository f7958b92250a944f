// A broadcast test peer.
//   node broadcast.mjs send <name> <count>
//   node broadcast.mjs recv <name> <pauseEvery> <pauseMs> <api>
// Message i: u32 i, then 4 + (i % 200) bytes of (i + k) & 0xff.
import { Channel } from '@shmkit/channel';

const [role, name, a, b, c] = process.argv.slice(2);
const channel = Channel.open(name);

if (role === 'send') {
  const count = Number(a);
  const tx = channel.sender();
  const scratch = Buffer.alloc(256);
  for (let i = 0; i < count; i++) {
    const length = 8 + (i % 200);
    const view = scratch.subarray(0, length);
    view.writeUInt32LE(i, 0);
    for (let k = 4; k < length; k++) view[k] = (i + k) & 0xff;
    if (!tx.trySend(view)) throw new Error('a broadcast send never fails');
  }
  tx.close();
  console.log(`sent ${count}`);
} else {
  const pauseEvery = Number(a);
  const pauseMs = Number(b);
  const api = c ?? 'receive';
  const rx = channel.receiver();
  let lappedEvents = 0;
  let lappedTotal = 0;
  rx.on('lapped', ({ missed }) => {
    lappedEvents++;
    lappedTotal += missed;
  });
  process.stdout.write('ready\n');
  let received = 0;
  let last = -1;
  let bad = 0;
  const check = (m) => {
    const i = m.readUInt32LE(0);
    if (i <= last || m.length !== 8 + (i % 200)) bad++;
    for (let k = 4; k < m.length; k++)
      if (m[k] !== ((i + k) & 0xff)) {
        bad++;
        break;
      }
    last = i;
    received++;
    if (pauseEvery > 0 && received % pauseEvery === 0)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pauseMs);
  };
  if (api === 'iterate') {
    for await (const m of rx) check(m);
  } else {
    for (;;) {
      let m;
      try {
        m = rx.receive();
      } catch (error) {
        if (error.code === 'ERR_SHMKIT_CHANNEL_ENDED') break;
        throw error;
      }
      check(m);
    }
  }
  console.log(
    JSON.stringify({ received, missed: rx.missed, last, bad, lappedEvents, lappedTotal }),
  );
}
channel.close();
