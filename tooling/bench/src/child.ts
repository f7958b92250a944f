// Entry point of every peer process: `node child.js <peer> <json args>`.
import { peers } from './cases/index.js';

const [name, json] = process.argv.slice(2);
const peer = name === undefined ? undefined : peers[name];
if (peer === undefined) {
  process.stderr.write(`unknown peer ${String(name)}; known: ${Object.keys(peers).join(', ')}\n`);
  process.exit(2);
}
peer(JSON.parse(json ?? 'null') as unknown).catch((error: unknown) => {
  process.stderr.write(
    `peer ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
