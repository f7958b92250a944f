// Wake-up races between two processes.
//   node pingpong.mjs ping|echo <requests> <responses> <count> sync|async
//     ping sends i on <requests> and waits for i on <responses>; echo returns
//     each request. Every round trip sleeps on both sides (spin: false), so each
//     exercises the waiting-word protocol twice.
//   node pingpong.mjs flood|drain <name> <count> sync|async
//     1,500-byte messages through a 4 KiB ring: at most two fit, so the
//     sender waits for room and the receiver for data all the time.
// Prints the ends' wait statistics as JSON.
import { Channel } from '@shmkit/channel';

const [role, a, b, c, d] = process.argv.slice(2);

if (role === 'ping' || role === 'echo') {
  const count = Number(c);
  const async = d === 'async';
  const requests = Channel.open(a);
  const responses = Channel.open(b);
  const tx = role === 'ping' ? requests.sender() : responses.sender();
  const rx = role === 'ping' ? responses.receiver() : requests.receiver();
  const word = Buffer.alloc(4);
  process.stdout.write('ready\n');
  let bad = 0;
  for (let i = 0; i < count; i++) {
    if (role === 'ping') {
      word.writeUInt32LE(i);
      tx.send(word);
      const back = async
        ? await rx.receiveAsync({ timeout: 10_000, spin: false })
        : rx.receive({ timeout: 10_000, spin: false });
      if (back === undefined) throw new Error(`round trip ${i}: no answer within 10 s`);
      if (back.readUInt32LE(0) !== i) bad++;
    } else {
      const request = async
        ? await rx.receiveAsync({ timeout: 10_000, spin: false })
        : rx.receive({ timeout: 10_000, spin: false });
      if (request === undefined) throw new Error(`request ${i}: none within 10 s`);
      tx.send(request);
    }
  }
  tx.flush();
  console.log(JSON.stringify({ bad, tx: tx.stats, rx: rx.stats }));
  requests.close();
  responses.close();
} else {
  const count = Number(b);
  const async = c === 'async';
  const channel = Channel.open(a);
  if (role === 'flood') {
    const tx = channel.sender();
    const message = Buffer.alloc(1500);
    for (let i = 0; i < count; i++) {
      message.writeUInt32LE(i);
      if (async) await tx.sendAsync(message);
      else tx.send(message);
    }
    console.log(JSON.stringify({ tx: tx.stats }));
    tx.close();
  } else {
    const rx = channel.receiver();
    process.stdout.write('ready\n');
    let bad = 0;
    for (let i = 0; i < count; i++) {
      const m = async
        ? await rx.receiveAsync({ timeout: 10_000, spin: false })
        : rx.receive({ timeout: 10_000, spin: false });
      if (m === undefined) throw new Error(`message ${i}: none within 10 s`);
      if (m.readUInt32LE(0) !== i || m.length !== 1500) bad++;
    }
    console.log(JSON.stringify({ bad, rx: rx.stats }));
  }
  channel.close();
}
