// An end waits on a channel that a hostile process then truncates.
//   node truncate.mjs wait <name> sync|async receive|send
// Prints the code of the error that ends the wait, the code of the next
// call, then 'closed' once the end and the channel closed without a touch
// of the missing pages (SIGBUS would end the process instead).
import { Channel } from '@shmkit/channel';

const [, name, mode, role] = process.argv.slice(2);
const channel = Channel.open(name);
const end = role === 'send' ? channel.sender() : channel.receiver();
if (role === 'send') while (end.trySend(Buffer.alloc(1000)));
process.stdout.write('waiting\n');
try {
  if (role === 'send') {
    if (mode === 'async') await end.sendAsync(Buffer.alloc(1000), { timeout: 20_000 });
    else end.send(Buffer.alloc(1000), { timeout: 20_000 });
  } else if (mode === 'async') await end.receiveAsync({ timeout: 20_000 });
  else end.receive({ timeout: 20_000 });
  console.log('no error');
} catch (error) {
  console.log(error.code);
  // Everything after that fails the same way, without touching the memory.
  try {
    if (role === 'send') end.trySend(Buffer.alloc(1));
    else end.tryReceive();
  } catch (again) {
    console.log(again.code);
  }
}
end.close();
channel.close();
console.log('closed');
