// The exit-removal registry, driven in real node processes that exit, throw
// and are killed with signals. The "objects" here are marker files; the
// packages' own tests use real shared memory, semaphores and FIFOs.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runNode, spawnNode, waitForLine } from '@shmkit/testing';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { validateRemoveOnExit } from '../src/internal';

const internal = JSON.stringify(resolve(__dirname, '../dist/internal.js'));
const dir = mkdtempSync(join(tmpdir(), 'shmkit-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function marker(): string {
  const path = join(dir, `object-${++n}`);
  writeFileSync(path, '');
  return path;
}

/** A child that registers the removal of each marker, then runs `body`. */
function script(markers: Record<string, string>, when: string, body: string): string {
  return `
    import { createRequire } from 'node:module';
    import { rmSync } from 'node:fs';
    const { registerExitRemoval } = createRequire(import.meta.url)(${internal});
    const markers = ${JSON.stringify(markers)};
    // Node's ES module loader keeps an 'exit' listener of its own.
    const baseExit = process.listenerCount('exit');
    const removals = {};
    for (const [name, path] of Object.entries(markers)) {
      removals[name] = registerExitRemoval('marker ' + name, () => rmSync(path), ${when});
    }
    const listeners = () =>
      [...['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s)), process.listenerCount('exit') - baseExit].join(',');
    ${body}
  `;
}

async function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  return { code, signal };
}

describe('registerExitRemoval', () => {
  it('removes at a normal exit, newest first, and installs no signal handler for `true`', async () => {
    const a = marker();
    const b = marker();
    const result = await runNode(
      script(
        { a, b },
        'true',
        `
        console.log(listeners());
        process.on('exit', () => console.log('user exit listener'));
        `,
      ).replace('() => rmSync(path)', "() => { console.log('removing', name); rmSync(path); }"),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      '0,0,0,1',
      'removing b',
      'removing a',
      'user exit listener',
      '',
    ]);
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(false);
  });

  it('removes on process.exit() and on an uncaught exception, keeping the exit code', async () => {
    const a = marker();
    const exit = await runNode(script({ a }, 'true', 'process.exit(7);'));
    expect(exit.code).toBe(7);
    expect(existsSync(a)).toBe(false);

    const b = marker();
    const thrown = await runNode(
      script({ b }, 'true', "setTimeout(() => { throw new Error('boom'); }, 1);"),
    );
    expect(thrown.code).toBe(1);
    expect(thrown.stderr).toContain('boom');
    expect(existsSync(b)).toBe(false);
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    "'signals': %s removes, then the process dies of that signal",
    async (signal) => {
      const a = marker();
      const child = spawnNode(
        script(
          { a },
          "'signals'",
          "console.log('ready', listeners()); setInterval(() => {}, 1000);",
        ),
      );
      const [line] = await waitForLine(child, /ready .*\n/);
      expect(line).toBe('ready 1,1,1,1\n');
      child.kill(signal);
      expect(await exited(child)).toEqual({ code: null, signal });
      expect(existsSync(a)).toBe(false);
    },
  );

  it('`true` leaves the object to a death by signal: nothing was caught', async () => {
    const a = marker();
    const child = spawnNode(
      script({ a }, 'true', "console.log('ready'); setInterval(() => {}, 1000);"),
    );
    await waitForLine(child, /ready/);
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(a)).toBe(true);
  });

  it("only the 'signals' entries go on a signal; `true` ones wait for an exit that never comes", async () => {
    const a = marker();
    const b = marker();
    const child = spawnNode(`
      import { createRequire } from 'node:module';
      import { rmSync } from 'node:fs';
      const { registerExitRemoval } = createRequire(import.meta.url)(${internal});
      registerExitRemoval('a', () => rmSync(${JSON.stringify(a)}), true);
      registerExitRemoval('b', () => rmSync(${JSON.stringify(b)}), 'signals');
      console.log('ready');
      setInterval(() => {}, 1000);
    `);
    await waitForLine(child, /ready/);
    child.kill('SIGINT');
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGINT' });
    expect(existsSync(a)).toBe(true);
    expect(existsSync(b)).toBe(false);
  });

  it('leaves a signal to the program when it has its own handler, and removes when it exits', async () => {
    const a = marker();
    const child = spawnNode(
      script(
        { a },
        "'signals'",
        `
        let count = 0;
        process.on('SIGINT', () => {
          count += 1;
          console.log('handled', count);
          if (count === 2) process.exit(3);
        });
        console.log('ready');
        setInterval(() => {}, 1000);
        `,
      ),
    );
    await waitForLine(child, /ready/);
    child.kill('SIGINT');
    await waitForLine(child, /handled 1/);
    // The program chose to carry on: its object must still be there.
    expect(existsSync(a)).toBe(true);
    expect(child.exitCode).toBe(null);
    child.kill('SIGINT');
    expect(await exited(child)).toEqual({ code: 3, signal: null });
    expect(existsSync(a)).toBe(false);
  });

  it("waits for a program's `once` handler that shuts down asynchronously", async () => {
    const a = marker();
    const child = spawnNode(
      script(
        { a },
        "'signals'",
        `
        process.once('SIGTERM', () => {
          setTimeout(() => { console.log('flushed'); process.exit(0); }, 50);
        });
        console.log('ready');
        setInterval(() => {}, 1000);
        `,
      ),
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    await waitForLine(child, /ready/);
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(output).toContain('flushed');
    expect(existsSync(a)).toBe(false);
  });

  it('cancel() forgets a removal, and the handlers go with the last one', async () => {
    const a = marker();
    const b = marker();
    const result = await runNode(
      script(
        { a, b },
        "'signals'",
        `
        console.log(listeners());
        removals.a.cancel();
        console.log(listeners());
        removals.b.cancel();
        removals.b.cancel();
        console.log(listeners());
        `,
      ),
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1,1,1,1\n1,1,1,1\n0,0,0,0\n');
    expect(existsSync(a)).toBe(true);
    expect(existsSync(b)).toBe(true);
  });

  it('reports a removal that fails on stderr and still runs the others', async () => {
    const a = marker();
    const result = await runNode(`
      import { createRequire } from 'node:module';
      import { rmSync } from 'node:fs';
      const { registerExitRemoval } = createRequire(import.meta.url)(${internal});
      registerExitRemoval('marker a', () => rmSync(${JSON.stringify(a)}), true);
      registerExitRemoval('the broken one', () => { throw new Error('EPERM: not yours'); }, true);
    `);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'shmkit: could not remove the broken one at exit: EPERM: not yours\n',
    );
    expect(existsSync(a)).toBe(false);
  });

  it('false registers nothing', async () => {
    const a = marker();
    const result = await runNode(script({ a }, 'false', 'console.log(listeners());'));
    expect(result.stdout).toBe('0,0,0,0\n');
    expect(existsSync(a)).toBe(true);
  });
});

describe('validateRemoveOnExit', () => {
  it('accepts undefined, true, false and "signals"', () => {
    expect(validateRemoveOnExit(undefined)).toBe(false);
    expect(validateRemoveOnExit(true)).toBe(true);
    expect(validateRemoveOnExit(false)).toBe(false);
    expect(validateRemoveOnExit('signals')).toBe('signals');
  });

  it.each([['yes'], [1], [null], ['SIGINT'], [{}]])(
    'rejects %j with ERR_INVALID_ARG_VALUE',
    (value) => {
      expect(() => validateRemoveOnExit(value)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' }),
      );
    },
  );
});
