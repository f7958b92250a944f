// A hostile peer scribbling on every word of the header, and one that
// truncates the object under a waiting receiver. Run in child processes: a
// signal (SIGSEGV, SIGBUS, SIGABRT) fails the test instead of the runner.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PosixShm } from '@shmkit/posix-shm';
import { uniqueName } from '@shmkit/testing';
import { Channel, ChannelErrorCode, inspectChannel } from '../src/index';
import { channelName, expectClean, lastJson, startNode } from './helpers';

describe('a hostile peer', () => {
  it('garbage in every header word and in record headers: coded errors only, no crash, hang or busy loop', async () => {
    const peer = join(__dirname, 'peers', 'hostile.mjs');
    const prefix = uniqueName('shmkit-hostile');
    const runs = (['spsc', 'mpsc', 'broadcast'] as const).map((kind) => ({
      kind,
      child: startNode(peer, [`${prefix}-${kind}`, kind], 180_000),
    }));
    for (const { kind, child } of runs) {
      const result = await child.result;
      const out = lastJson<{
        scenarios: number;
        busy: number;
        failures: string[];
        codes: Record<string, number>;
      }>(expectClean(result));
      expect(out.failures, kind).toEqual([]);
      expect(out.busy, kind).toBe(0);
      expect(out.scenarios, kind).toBeGreaterThan(800);
      // The garbage was noticed, not ignored.
      expect(out.codes[ChannelErrorCode.CORRUPT], kind).toBeGreaterThan(100);
    }
    const left = (await import('node:fs'))
      .readdirSync('/dev/shm')
      .filter((f) => f.startsWith(prefix));
    expect(left).toEqual([]);
  }, 200_000);

  for (const mode of ['sync', 'async'] as const) {
    it(`truncating the object under a ${mode} waiting receiver: ERR_SHMKIT_CHANNEL_CORRUPT, not SIGBUS`, async () => {
      const name = channelName();
      Channel.create(name, { capacity: 65536, exclusive: true }).close();
      const waiter = startNode(join(__dirname, 'peers', 'truncate.mjs'), ['wait', name, mode]);
      await waiter.line(/waiting/);
      // Truncate only once it sleeps: a process touching the pages after the
      // cut gets SIGBUS, which no check can prevent (see LAYOUT.md).
      // (The flag is set just before the sleep; 50 ms later it surely sleeps,
      // and its 200 ms slices leave only microseconds awake.)
      while (!inspectChannel(name).receiverWaiting) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      using shm = PosixShm.open(name);
      shm.resize(0);
      const out = expectClean(await waiter.result);
      expect(out.trim().split('\n').slice(1)).toEqual([
        ChannelErrorCode.CORRUPT,
        ChannelErrorCode.CORRUPT,
      ]);
    });
  }
});
