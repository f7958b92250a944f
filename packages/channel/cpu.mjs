import { Channel } from '@shmkit/channel';
const name = '/cpu-' + process.pid;
const ch = Channel.create(name, { capacity: 1 << 20, exclusive: true });
const tx = ch.sender({ batch: 1024 });
const rx = ch.receiver();
const src = Buffer.alloc(Number(process.env.LEN ?? 64), 7);
const N = 2_000_000;
const mem = rx.memory;
const LEN = src.length;
const modes = {
  send_receive: () => {
    for (let i = 0; i < N; i += 1000) {
      for (let k = 0; k < 1000; k++) tx.send(src);
      tx.flush();
      for (let k = 0; k < 1000; k++) rx.receive();
    }
  },
  send_only: () => {
    for (let i = 0; i < N; i += 1000) {
      for (let k = 0; k < 1000; k++) tx.send(src);
      tx.flush();
      for (let k = 0; k < 1000; k++) {
        rx.peekOffset();
        rx.release();
      }
    }
  },
  zc: () => {
    for (let i = 0; i < N; i += 1000) {
      for (let k = 0; k < 1000; k++) {
        const at = tx.reserveOffset(LEN);
        mem[at] = 7;
        tx.commit();
      }
      tx.flush();
      for (let k = 0; k < 1000; k++) {
        rx.peekOffset();
        rx.release();
      }
    }
  },
};
for (let round = 0; round < 3; round++)
  for (const [k, fn] of Object.entries(modes)) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    if (round)
      console.log(k.padEnd(14), (((c.user + c.system) * 1000) / N).toFixed(1), 'ns CPU/msg');
  }
ch.close();
Channel.unlink(name);
