// Both ends of a channel busy in one process, sending numbered messages
// and checking each one that comes back, while a hostile process truncates
// the object under them.
//   node truncate-busy.mjs <name> copy|zero-copy
// Prints 'busy' once under way, then the code of the error that stopped
// the loop, the codes of the next send and receive, and 'closed'. A message
// that comes back wrong prints 'misled'; SIGBUS would end the process.
import { Channel } from '@shmkit/channel';

const [name, mode] = process.argv.slice(2);
const SIZE = 64;
const channel = Channel.open(name);
const tx = channel.sender();
const rx = channel.receiver();
const message = Buffer.alloc(SIZE, 0xab);
let sent = 0;
let expected = 0;

function send() {
  if (mode === 'zero-copy') {
    const at = tx.tryReserveOffset(SIZE);
    if (at < 0) return;
    const memory = tx.memory;
    memory.fill(0xab, at, at + SIZE);
    memory[at] = sent & 0xff;
    memory[at + 1] = (sent >> 8) & 0xff;
    memory[at + 2] = (sent >> 16) & 0xff;
    tx.commit();
  } else {
    message.writeUInt32LE(sent, 0);
    if (!tx.trySend(message)) return;
  }
  sent++;
}

function check(bytes) {
  const ok =
    bytes.length === SIZE &&
    bytes[0] + bytes[1] * 256 + bytes[2] * 65536 === (expected & 0xffffff) &&
    bytes[SIZE - 1] === 0xab;
  if (!ok) {
    console.log('misled');
    process.exit(1);
  }
  expected++;
}

function receive() {
  if (mode === 'zero-copy') {
    const at = rx.tryPeekOffset();
    if (at < 0) return;
    // The view is known good only once release() returns true.
    const copy = Buffer.from(rx.memory.subarray(at, at + rx.peekedLength));
    if (rx.release()) check(copy);
  } else {
    const got = rx.tryReceive();
    if (got !== undefined) check(got);
  }
}

const deadline = Date.now() + 20_000;
try {
  for (let round = 0; ; round++) {
    if (round === 20_000) console.log('busy');
    send();
    receive();
    if (round % 1024 === 0 && Date.now() > deadline) {
      console.log('no error');
      break;
    }
  }
} catch (error) {
  console.log(error.code);
  for (const again of [send, receive]) {
    try {
      again();
      console.log('no error');
    } catch (error) {
      console.log(error.code);
    }
  }
}
tx.close();
rx.close();
channel.close();
console.log('closed');
