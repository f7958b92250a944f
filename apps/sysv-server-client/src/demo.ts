// `pnpm demo`: the server and the client side by side, then `stat`, then a
// check that the server left nothing behind. The server waits a second
// before writing its message, so the client (started at once) is seen
// waiting on the message-ready event and waking when the server sets it.
import { formatKey, isSystemError, SysvSegment } from '@shmkit/sysv-shm';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_KEY } from './options';

const cli = join(__dirname, 'cli.js');

/** Prints each complete line of `stream` with a tag, and hands it to `onLine`. */
function relay(
  stream: NodeJS.ReadableStream,
  tag: string,
  onLine: (line: string) => void = () => {},
): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      console.log(`[${tag}] ${line}`);
      onLine(line);
    }
  });
}

function start(
  tag: string,
  args: string[],
): {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [cli, ...args]);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  relay(child.stderr, `${tag} stderr`);
  return { child, exited };
}

async function runCli(tag: string, args: string[]): Promise<void> {
  const { child, exited } = start(tag, args);
  relay(child.stdout, tag);
  const code = await exited;
  if (code !== 0) throw new Error(`${tag} exited with ${code}`);
}

async function main(): Promise<void> {
  const key = DEFAULT_KEY;
  // A 5 s timeout is the safety net; the demo stops the server with SIGINT
  // as soon as the client and stat are done, as a user would with Ctrl-C.
  console.log(
    `$ sysv-server-client server --delay 1 --timeout 5 --message "Hello"   (key ${formatKey(key)})`,
  );
  const srv = start('server', ['server', '--delay', '1', '--timeout', '5', '--message', 'Hello']);
  let id = -1;
  await new Promise<void>((resolve, reject) => {
    relay(srv.child.stdout, 'server', (line) => {
      const created = /^created segment (\d+)/.exec(line);
      if (created) id = Number(created[1]);
      if (line.startsWith('attached at')) resolve();
    });
    void srv.exited.then((code) => reject(new Error(`server exited early (${code})`)));
  });

  console.log('$ sysv-server-client client');
  await runCli('client', ['client']);
  console.log(`$ sysv-server-client stat ${id}`);
  await runCli('stat', ['stat', String(id)]);

  console.log(`$ kill -INT ${srv.child.pid}`);
  srv.child.kill('SIGINT');
  const code = await srv.exited;
  // 130 = 128 + SIGINT: stopped by the signal, after removing the segment.
  if (code !== 130) throw new Error(`server exited with ${code}, not 130`);
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
