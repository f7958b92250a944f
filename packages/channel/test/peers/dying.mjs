// Peers that get killed with SIGKILL at awkward moments.
//   node dying.mjs reserve <name> <committed> [count]
//       sends <committed> messages (u32 i), then reserves one more, fills it
//       and prints 'reserved' without committing; with [count], it is an
//       mpsc sender that first waits for a line on stdin.
//   node dying.mjs send <name> <count>
//       sends <count> messages (u32 i), then waits for a line on stdin, closes.
//   node dying.mjs hold <name>
//       a receiver that peeks one message and keeps it, printing 'holding'.
//   node dying.mjs block <name>
//       a sender that fills the ring, prints 'full', then waits for room and
//       prints how that ended.
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setInterval } from 'node:timers';
import { Channel } from '@shmkit/channel';

const [role, name, a] = process.argv.slice(2);
const channel = Channel.open(name);
const hang = () => setInterval(() => {}, 1000);

if (role === 'reserve' || role === 'send') {
  const tx = channel.sender();
  const word = Buffer.alloc(16);
  for (let i = 0; i < Number(a); i++) {
    word.writeUInt32LE(tx.slot, 0);
    word.writeUInt32LE(i, 4);
    tx.send(word);
  }
  tx.flush();
  if (role === 'reserve') {
    const view = tx.reserve(16);
    view.fill(0xee);
    process.stdout.write(`reserved ${tx.slot}\n`);
    hang();
  } else {
    process.stdout.write(`sent ${tx.slot}\n`);
    process.stdin.resume();
    await once(process.stdin, 'data');
    tx.close();
    channel.close();
    process.stdout.write('closed\n');
    process.exit(0);
  }
} else if (role === 'hold') {
  const rx = channel.receiver();
  process.stdout.write('ready\n');
  rx.peek();
  process.stdout.write('holding\n');
  hang();
} else if (role === 'block') {
  const tx = channel.sender();
  while (tx.trySend(Buffer.alloc(1000))) {
    /* fill */
  }
  process.stdout.write('full\n');
  const started = performance.now();
  try {
    tx.send(Buffer.alloc(1000), { timeout: 20_000 });
    process.stdout.write('sent\n');
  } catch (error) {
    process.stdout.write(
      `${JSON.stringify({ code: error.code, tid: error.tid, ms: performance.now() - started })}\n`,
    );
  }
  channel.close();
}
