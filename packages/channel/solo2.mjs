import { Channel } from '@shmkit/channel';
const name = '/solo2-' + process.pid;
const ch = Channel.create(name, { capacity: 1 << 20, exclusive: true });
const tx = ch.sender({ batch: 1024 });
const rx = ch.receiver();
const src = Buffer.alloc(64, 7);
const N = 5_000_000;
const mem = rx.memory;
const mode = process.argv[2] ?? 'send';
for (let round = 0; round < 5; round++) {
  let t0 = performance.now();
  let s = 0;
  if (mode === 'send')
    for (let i = 0; i < N; i += 1000) {
      for (let k = 0; k < 1000; k++) tx.send(src);
      tx.flush();
      for (let k = 0; k < 1000; k++) s += rx.receive()[0];
    }
  else
    for (let i = 0; i < N; i += 1000) {
      for (let k = 0; k < 1000; k++) {
        const at = tx.reserveOffset(64);
        mem[at] = 7;
        tx.commit();
      }
      tx.flush();
      for (let k = 0; k < 1000; k++) {
        s += mem[rx.peekOffset()];
        rx.release();
      }
    }
  const t = performance.now() - t0;
  console.log(`${mode} pair ${((t * 1e6) / N).toFixed(1)} ns`);
}
ch.close();
Channel.unlink(name);
