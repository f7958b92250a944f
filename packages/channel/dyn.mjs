import { Channel } from '@shmkit/channel';
import { fork } from 'node:child_process';
const [, , role, name, how] = process.argv;
const N = 2_000_000;
if (role === undefined) {
  const name = '/dyn-' + process.pid;
  const ch = Channel.create(name, { capacity: 1 << 20, exclusive: true });
  const self = new URL(import.meta.url).pathname;
  const r = fork(self, ['recv', name, process.env.RHOW ?? 'copy']);
  await new Promise((res) => r.once('message', res));
  const s = fork(self, ['send', name, process.env.SHOW ?? 'copy']);
  await Promise.all([
    new Promise((res) => r.on('exit', res)),
    new Promise((res) => s.on('exit', res)),
  ]);
  ch.close();
  Channel.unlink(name);
} else if (role === 'send') {
  const ch = Channel.open(name);
  const tx = ch.sender();
  const src = Buffer.alloc(64, 7);
  const mem = tx.memory;
  const t0 = performance.now();
  if (how === 'copy') for (let i = 0; i < N; i++) tx.send(src);
  else
    for (let i = 0; i < N; i++) {
      const at = tx.reserveOffset(64);
      mem[at] = 7;
      tx.commit();
    }
  const dt = performance.now() - t0;
  console.log('send', how, ((dt * 1e6) / N).toFixed(0), 'ns/msg', JSON.stringify(tx.stats));
  tx.close();
} else {
  const ch = Channel.open(name);
  const rx = ch.receiver();
  const mem = rx.memory;
  process.send('ready');
  let sum = 0;
  rx.peekOffset();
  const t0 = performance.now();
  rx.release();
  if (how === 'copy') for (let i = 1; i < N; i++) sum += rx.receive()[0];
  else
    for (let i = 1; i < N; i++) {
      sum += mem[rx.peekOffset()];
      rx.release();
    }
  const dt = performance.now() - t0;
  console.log('recv', how, ((dt * 1e6) / N).toFixed(0), 'ns/msg', JSON.stringify(rx.stats));
  process.exit(0);
}
