// Runs README examples as a reader would, and checks that each one cleans
// up after itself.
//
// Where the kernel lets us (root, or an unprivileged user namespace), each
// example runs in fresh IPC and mount namespaces with its own empty
// /dev/shm: whatever POSIX object, named semaphore or System V segment,
// semaphore set or message queue is left when it exits is the example's
// own leftover, and other programs on the machine can neither disturb it
// nor be disturbed. Elsewhere the example runs twice in a row (a leftover
// that breaks a second run fails it) and the /dev/shm names it mentions
// must be gone afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from './process.mjs';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The strict settings every README TypeScript example compiles under. */
export const STRICT_TS_OPTIONS = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: false,
  target: 'ES2022',
  lib: ['ES2022'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  types: ['node'],
  // The consumer project installs only shmkit; the compiler and Node's
  // types come from the workspace.
  typeRoots: [join(repoRoot, 'node_modules/@types')],
};

/** Runs inside the namespaces: mounts a private /dev/shm, runs the example, reports leftovers. */
const ISOLATE = `
set -u
mount -t tmpfs -o mode=1777,size=1g shmkit-example /dev/shm || exit 97
"$@"
status=$?
{
  for f in /dev/shm/* /dev/shm/.[!.]*; do [ -e "$f" ] && echo "/dev/shm: \${f#/dev/shm/}"; done
  for kind in shm sem msg; do tail -n +2 /proc/sysvipc/$kind | sed "s/^/System V $kind: /"; done
} > "$SHMKIT_LEFTOVERS"
exit $status
`;

let isolation;

/** The command prefix that gives a process its own IPC namespace and /dev/shm, or null. */
export function isolationPrefix() {
  if (isolation !== undefined) return isolation;
  isolation = null;
  const candidates = [
    ['unshare', '--ipc', '--mount', '--fork', '--kill-child'],
    ['unshare', '--user', '--map-root-user', '--ipc', '--mount', '--fork', '--kill-child'],
  ];
  for (const prefix of candidates) {
    const probe = spawnSync(
      prefix[0],
      [...prefix.slice(1), 'sh', '-c', 'mount -t tmpfs none /dev/shm'],
      {
        stdio: 'ignore',
      },
    );
    if (probe.status === 0) {
      isolation = prefix;
      break;
    }
  }
  return isolation;
}

/** Absolute /dev/shm names and /tmp paths an example spells out. */
function mentionedPaths(code) {
  const paths = new Set();
  for (const [, name] of code.matchAll(/['"`](\/[A-Za-z0-9._-]+)['"`]/g))
    paths.add(`/dev/shm${name}`);
  for (const [, name] of code.matchAll(/['"`](\/dev\/shm\/[A-Za-z0-9._-]+)['"`]/g)) paths.add(name);
  for (const [path] of code.matchAll(/\/tmp\/[A-Za-z0-9._-]+/g)) paths.add(path);
  return [...paths];
}

async function runOnce(command, args, cwd, env, timeout) {
  const prefix = isolationPrefix();
  const leftovers = join(mkdtempSync(join(tmpdir(), 'shmkit-leftovers-')), 'list');
  const scratch = mkdtempSync(join(tmpdir(), 'shmkit-example-tmp-'));
  const full = prefix
    ? [...prefix, 'bash', '-c', ISOLATE, 'isolate', command, ...args]
    : [command, ...args];
  const result = await exec(full[0], full.slice(1), {
    cwd,
    timeout,
    env: { ...process.env, ...env, TMPDIR: scratch, SHMKIT_LEFTOVERS: leftovers },
  });
  const left = [];
  if (prefix) {
    if (existsSync(leftovers)) {
      left.push(...readFileSync(leftovers, 'utf8').split('\n').filter(Boolean));
    } else if (result.status !== null) {
      left.push('(the isolation wrapper reported nothing)');
    }
  }
  for (const entry of readdirSync(scratch)) left.push(`$TMPDIR: ${entry}`);
  rmSync(dirname(leftovers), { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  return {
    status: result.status,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    error: result.error,
    leftovers: left,
  };
}

/**
 * Runs `command args` in `cwd` as an example; returns `{ ok, output, problems }`.
 * `code` is the example's text, used to find the names it should have removed.
 */
export async function runExample(command, args, { cwd, code, env = {}, timeout = 120_000 }) {
  const problems = [];
  const runs = isolationPrefix() ? 1 : 2;
  let output = '';
  for (let i = 0; i < runs; i++) {
    const r = await runOnce(command, args, cwd, env, timeout);
    output = `${r.stdout}${r.stderr}`;
    const which = runs > 1 ? ` (run ${i + 1} of ${runs})` : '';
    if (r.error) problems.push(`could not run${which}: ${r.error.message}`);
    if (r.signal) problems.push(`killed by ${r.signal}${which}`);
    else if (r.status !== 0) problems.push(`exited with ${r.status}${which}`);
    if (r.status === 97 && isolationPrefix()) problems.push('could not mount a private /dev/shm');
    if (r.leftovers.length > 0) problems.push(`left behind${which}: ${r.leftovers.join('; ')}`);
    if (problems.length > 0) break;
  }
  for (const path of mentionedPaths(code)) {
    if (existsSync(path) && !isolationPrefix()) problems.push(`left behind: ${path}`);
  }
  if (isolationPrefix()) {
    for (const path of mentionedPaths(code).filter((p) => p.startsWith('/tmp/'))) {
      if (existsSync(path)) problems.push(`left behind: ${path}`);
    }
  }
  return { ok: problems.length === 0, output, problems };
}

/**
 * Compiles `files` (TypeScript, in `dir`) with {@link STRICT_TS_OPTIONS}
 * into `dir/out`. Returns the diagnostics per file name: an empty object
 * when everything compiled.
 */
export async function compileTypeScript(dir, files) {
  const tsc = createRequire(join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(
      { compilerOptions: { ...STRICT_TS_OPTIONS, outDir: 'out', rootDir: '.' }, files },
      null,
      2,
    ),
  );
  const result = await exec(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], {
    cwd: dir,
  });
  const diagnostics = {};
  for (const line of `${result.stdout}${result.stderr}`.split('\n').filter(Boolean)) {
    const file = files.find((f) => line.startsWith(f)) ?? '(tsconfig)';
    (diagnostics[file] ??= []).push(line);
  }
  if (result.status !== 0 && Object.keys(diagnostics).length === 0) {
    diagnostics['(tsc)'] = [`tsc exited with ${result.status ?? result.signal}`];
  }
  return diagnostics;
}
