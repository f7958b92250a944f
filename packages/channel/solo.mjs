import { Channel } from '@shmkit/channel';
const name = '/solo-' + process.pid;
const ch = Channel.create(name, { capacity: 1 << 27, exclusive: true });
const tx = ch.sender();
const rx = ch.receiver();
const src = Buffer.alloc(64, 7);
const N = 1_000_000;
const mem = rx.memory;
for (let round = 0; round < 4; round++) {
  let t0 = performance.now();
  for (let i = 0; i < N; i++) tx.send(src);
  tx.flush();
  const ts = performance.now() - t0;
  t0 = performance.now();
  let s = 0;
  if (round % 2 === 0) for (let i = 0; i < N; i++) s += rx.receive()[0];
  else
    for (let i = 0; i < N; i++) {
      s += mem[rx.peekOffset()];
      rx.release();
    }
  const tr = performance.now() - t0;
  console.log(
    `send ${((ts * 1e6) / N).toFixed(1)} ns, ${round % 2 ? 'peek' : 'receive'} ${((tr * 1e6) / N).toFixed(1)} ns`,
  );
}
ch.close();
Channel.unlink(name);
