// A receiver waits on a channel that a hostile process then truncates.
//   node truncate.mjs wait <name> sync|async
// Prints the code of the error that ends the wait.
import { Channel } from '@shmkit/channel';

const [, name, mode] = process.argv.slice(2);
const channel = Channel.open(name);
const rx = channel.receiver();
process.stdout.write('waiting\n');
try {
  if (mode === 'async') await rx.receiveAsync({ timeout: 20_000 });
  else rx.receive({ timeout: 20_000 });
  console.log('no error');
} catch (error) {
  console.log(error.code);
  // Everything after that fails the same way, without touching the memory.
  try {
    rx.tryReceive();
  } catch (again) {
    console.log(again.code);
  }
}
