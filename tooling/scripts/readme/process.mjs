// One way to run a command from the README tooling: asynchronously, so a
// test runner calling it stays responsive, with the output collected.
import { spawn } from 'node:child_process';

/**
 * Runs `cmd args`; resolves `{ status, signal, stdout, stderr, error }`
 * (never rejects). `timeout` kills the whole process group with SIGKILL.
 */
export function exec(cmd, args, { cwd, env, timeout = 600_000, input } = {}) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let error;
    const child = spawn(cmd, args, {
      cwd,
      env: env ?? process.env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => {
      error = new Error(`timed out after ${timeout} ms`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeout);
    child.on('error', (e) => (error = e));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, error });
    });
  });
}

/** Like {@link exec}, but rejects with the output unless the command exits 0; resolves stdout. */
export async function check(cmd, args, options = {}) {
  const r = await exec(cmd, args, options);
  if (r.error || r.status !== 0) {
    const how = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${how}) in ${options.cwd ?? process.cwd()}:\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}
