// `pnpm demo`: the server and the client side by side, then `stat`, then a
// check that the server left nothing behind.
import { formatKey, isSystemError, SysvSegment } from '@shmkit/sysv-shm';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_KEY } from './options';

const cli = join(__dirname, 'cli.js');

function prefixed(tag: string, text: string): void {
  for (const line of text.split('\n')) if (line !== '') console.log(`[${tag}] ${line}`);
}

function runCli(tag: string, args: string[]): void {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  prefixed(tag, result.stdout);
  prefixed(`${tag} stderr`, result.stderr);
  if (result.status !== 0) throw new Error(`${tag} exited with ${result.status}`);
}

async function main(): Promise<void> {
  const key = DEFAULT_KEY;
  // A 5 s timeout is the safety net; the demo stops the server with SIGINT
  // as soon as the client and stat are done, as a user would with Ctrl-C.
  console.log(
    `$ sysv-server-client server --timeout 5 --message "Hello"   (key ${formatKey(key)})`,
  );
  const srv = spawn(process.execPath, [cli, 'server', '--timeout', '5', '--message', 'Hello'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  srv.stderr.setEncoding('utf8').on('data', (d: string) => prefixed('server stderr', d));
  const exited = new Promise<number | null>((resolve) => srv.on('close', resolve));
  const id = await new Promise<number>((resolve, reject) => {
    let partial = '';
    let segmentId = -1;
    srv.stdout.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        prefixed('server', line);
        const created = /^created segment (\d+)/.exec(line);
        if (created) segmentId = Number(created[1]);
        if (line.startsWith('wrote ')) resolve(segmentId);
      }
    });
    srv.on('close', (code) => reject(new Error(`server exited early (${code})`)));
  });

  console.log('$ sysv-server-client client');
  runCli('client', ['client']);
  console.log(`$ sysv-server-client stat ${id}`);
  runCli('stat', ['stat', String(id)]);

  console.log(`$ kill -INT ${srv.pid}`);
  srv.kill('SIGINT');
  const code = await exited;
  if (code !== 0) throw new Error(`server exited with ${code}`);
  try {
    SysvSegment.open({ key });
    throw new Error(`segment for ${formatKey(key)} is still there`);
  } catch (error) {
    if (!isSystemError(error) || error.code !== 'ENOENT') throw error;
  }
  console.log(
    `server gone and segment ${id} removed: SysvSegment.open({ key: ${formatKey(key)} }) now fails with ENOENT`,
  );
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
