// `ls` and `inspect` of @shmkit/channel objects: channels that live node
// and C processes hold and fill (fill level, ends and whether they are
// alive), and objects that carry the channel magic with garbage after it,
// which must read as corrupt, never crash the command.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Channel } from '@shmkit/channel';
import { compileC, spawnNode } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import type { ChannelContent } from '../src/index';
import { exited, find, keep, lsJson, pkgDir, posixName, shmkit, started } from './helpers';

interface ChannelView {
  as: string;
  state: string;
  data: {
    status: string;
    fill?: number;
    usedBytes?: number;
    senders?: Array<{ owner: number; alive?: boolean; usedBytes: number; waiting: boolean }>;
    receivers?: Array<{ owner: number; alive?: boolean; lagBytes?: number }>;
    lastExit?: string;
  };
  problems: string[];
}

async function inspectView(args: string[]): Promise<ChannelView> {
  const result = await shmkit(['inspect', '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { view: ChannelView }).view;
}

async function contentOf(name: string): Promise<ChannelContent | null | undefined> {
  return find(await lsJson(['--type', 'posix-shm', '--name', name]), 'posix-shm', { name })
    ?.content;
}

/** The `ls` table row of `name`, as printed to a pipe (80 columns). */
async function lsRow(name: string): Promise<string> {
  const result = await shmkit(['ls', '--type', 'posix-shm', '--name', name]);
  expect(result.code).toBe(0);
  const lines = result.stdout.trimEnd().split('\n');
  for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
  expect(lines).toHaveLength(2);
  return lines[1]!;
}

/** Bytes a message of `length` takes in a ring: an 8-byte record header, the payload padded to 8. */
const record = (length: number) => 8 + Math.ceil(length / 8) * 8;

/**
 * A node child that creates channel `name` (4 KiB rings), attaches a sender
 * and a receiver, sends `count` messages of `length` bytes that nobody
 * receives, and waits.
 */
function nodeChannel(name: string, kind: string, count: number, length: number) {
  return keep(
    spawnNode(
      `import { Channel } from '@shmkit/channel';
       const channel = Channel.create(${JSON.stringify(name)}, {
         kind: ${JSON.stringify(kind)}, capacity: 4096, exclusive: true,
         ...(${JSON.stringify(kind)} === 'mpsc' ? { senders: 3 } : {}),
         ...(${JSON.stringify(kind)} === 'broadcast' ? { receivers: 2 } : {}),
       });
       const rx = channel.receiver();
       const tx = channel.sender();
       for (let i = 0; i < ${count}; i++) tx.send(Buffer.alloc(${length}, i));
       tx.flush();
       console.log('ready', process.pid);
       setInterval(() => {}, 1000);`,
      { cwd: pkgDir },
    ),
  );
}

describe('channels of live processes', () => {
  it.each([
    ['spsc', 27],
    ['mpsc', 9], // 1120 bytes of three 4 KiB rings
    ['broadcast', 27], // the receiver's lag over the ring
  ])(
    'a %s channel a node child fills: fill level and ends in ls, cursors in inspect; then the child is killed',
    async (kind, percent) => {
      const name = posixName();
      const child = nodeChannel(name, kind, 10, 100);
      const [, pidText] = await started(child);
      const pid = Number(pidText);
      const used = 10 * record(100);

      const content = await contentOf(name);
      expect(content).toMatchObject({
        kind: 'channel',
        status: 'ok',
        problems: [],
        channelKind: kind,
        codec: 'bytes',
        capacity: 4096,
        rings: kind === 'mpsc' ? 3 : 1,
        usedBytes: used,
        senders: { slots: kind === 'mpsc' ? 3 : 1, attached: 1, alive: 1, waiting: 0 },
        receivers: { slots: kind === 'broadcast' ? 2 : 1, attached: 1, alive: 1 },
        ended: false,
        lastExit: 'none',
        deaths: 0,
      });
      expect(content!.fill).toBeCloseTo(used / (kind === 'mpsc' ? 3 * 4096 : 4096), 10);
      expect(await lsRow(name)).toMatch(new RegExp(`\\s${kind} ${percent}% tx 1 rx 1$`));

      const view = await inspectView([name, '--as', 'channel']);
      expect(view).toMatchObject({ as: 'channel', state: 'open', problems: [] });
      const attached = view.data.senders!.filter((s) => s.owner !== 0);
      expect(attached).toEqual([
        expect.objectContaining({ owner: pid, alive: true, usedBytes: used }),
      ]);
      expect(view.data.receivers![0]).toMatchObject({ owner: pid, alive: true });
      if (kind === 'broadcast') expect(view.data.receivers![0]!.lagBytes).toBe(used);
      // Without --as, a recognised channel is decoded all the same, for people.
      const text = await shmkit(['inspect', name]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`content   channel: ${kind} ${percent}% tx 1 rx 1\n`);
      expect(text.stdout).toMatch(/\nchannel at offset 0 \(4096 bytes\): open\n/);
      expect(text.stdout).toMatch(
        new RegExp(`slot \\d: tid ${pid} \\(pid ${pid} node\\), alive\n`),
      );

      child.kill('SIGKILL');
      await exited(child);
      // kill -9 leaves the ends claimed by a thread that is gone.
      expect(await contentOf(name)).toMatchObject({
        status: 'ok',
        usedBytes: used,
        senders: { attached: 1, alive: 0 },
        receivers: { attached: 1, alive: 0 },
      });
      // Cut to fit 80 columns: `broadcast` leaves no room for the whole of it.
      expect(await lsRow(name)).toMatch(
        kind === 'broadcast'
          ? /\sbroadcast 27% tx 0 rx 0,/
          : new RegExp(`\\s${kind} ${percent}% tx 0 rx 0, 2 dead$`),
      );
      expect((await shmkit(['ls', '-n', name], { env: { COLUMNS: '100' } })).stdout).toContain(
        `  ${kind} ${percent}% tx 0 rx 0, 2 dead\n`,
      );
      const dead = await inspectView([name, '--as', 'channel']);
      expect(dead.state).toBe('open, 2 ends dead');
      expect(dead.data.senders!.find((s) => s.owner !== 0)).toMatchObject({
        owner: pid,
        alive: false,
      });
    },
  );

  it('a C sender (c/shmkit_channel.h) attached to a channel: its pid, alive, and what it sent', async () => {
    const header = readFileSync(join(pkgDir, '../channel/c/shmkit_channel.h'), 'utf8');
    const sender = compileC(
      `#define SHMKIT_CHANNEL_IMPLEMENTATION
       ${header}
       #include <stdio.h>
       #include <stdlib.h>
       #include <string.h>
       #include <unistd.h>
       int main(int argc, char **argv) {
         shmkit_channel ch;
         shmkit_sender tx;
         char message[50];
         memset(message, 'c', sizeof message);
         if (shmkit_channel_open(&ch, argv[1]) != 0 || shmkit_sender_attach(&tx, &ch) != 0) return 1;
         for (int i = 0; i < atoi(argv[2]); i++)
           if (shmkit_send(&tx, message, sizeof message, 1000) != 0) return 1;
         printf("ready %d\\n", getpid());
         fflush(stdout);
         pause();
         return 0;
       }`,
    );
    const name = posixName();
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    const c = keep(spawn(sender, [name, '5'], { stdio: 'pipe' }));
    const [, pidText] = await started(c);
    const pid = Number(pidText);

    expect(await contentOf(name)).toMatchObject({
      status: 'ok',
      channelKind: 'spsc',
      usedBytes: 5 * record(50),
      senders: { attached: 1, alive: 1 },
      receivers: { attached: 0, alive: 0 },
    });
    expect(await lsRow(name)).toMatch(/\sspsc 8% tx 1 rx 0$/);
    const view = await inspectView([name, '--as', 'channel']);
    expect(view.data.senders![0]).toMatchObject({ owner: pid, alive: true, usedBytes: 320 });
    // What the channel's own reader makes of it agrees.
    expect(channel.inspect().senders[0]).toMatchObject({ owner: pid, usedBytes: 320 });
  });
});

// ---------------------------------------------------------------------------
// Hostile objects: the magic, then whatever an attacker likes.

const MAGIC = Buffer.from('shmkchan', 'latin1');

/** A header: the magic, then 32-bit words at the given word indices, in `size` bytes. */
function hostile(size: number, words: Record<number, number> = {}, fill?: () => number): Buffer {
  const bytes = Buffer.alloc(size);
  if (fill !== undefined) for (let at = 0; at + 4 <= size; at += 4) bytes.writeUInt32LE(fill(), at);
  MAGIC.copy(bytes, 0, 0, Math.min(8, size));
  for (const [index, value] of Object.entries(words)) {
    if (Number(index) * 4 + 4 <= size) bytes.writeUInt32LE(value >>> 0, Number(index) * 4);
  }
  return bytes;
}

/** The static words of a valid one-ring spsc header with 4 KiB rings (LAYOUT.md). */
const SPSC = { 2: 1, 3: 1, 4: 12, 5: 1, 6: 1, 7: 4096, 8: 0 };

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x ^ (x >>> 16)) >>> 0;
  };
}

describe('hostile objects with the channel magic', () => {
  it.each<[string, Buffer, ChannelContent['status'], RegExp]>([
    [
      'garbage words after the magic',
      hostile(8192, { 2: 0xdeadbeef }, random(7)),
      'corrupt',
      /version word 0xdeadbeef/,
    ],
    ['an unknown kind', hostile(8192, { ...SPSC, 3: 9 }), 'corrupt', /unknown kind 9/],
    ['a capacity of 2^31', hostile(8192, { ...SPSC, 4: 31 }), 'corrupt', /capacity 2\^31/],
    [
      '2^32-1 rings',
      hostile(8192, { ...SPSC, 3: 2, 5: 0xffffffff }),
      'corrupt',
      /rings for a mpsc/,
    ],
    ['a wrong header size', hostile(8192, { ...SPSC, 7: 0x7fffffff }), 'corrupt', /header size/],
    ['nothing but the magic', hostile(8), 'corrupt', /truncated: 8 bytes/],
    [
      'a header cut short',
      hostile(100, SPSC),
      'corrupt',
      /truncated: 100 bytes, its header says 4096/,
    ],
    [
      '64 rings in 4 KiB',
      hostile(4096, { ...SPSC, 3: 2, 5: 64, 7: 28672 }),
      'corrupt',
      /truncated/,
    ],
    ['format version 2', hostile(8192, { ...SPSC, 2: 2 }), 'unsupported', /version 2/],
    [
      'impossible cursors, owner words and no ring',
      // tail 4 KiB + 3 past head, owners: a negative id, pid 0x7fffffff, exit word 9.
      hostile(4096, {
        ...SPSC,
        96: 8195,
        128: 0,
        160: 0xfffffff0,
        161: 5,
        163: 9,
        192: 0x7fffffff,
      }),
      'damaged',
      /ring 0: tail 8195 is 8195 bytes past head 0/,
    ],
  ])('%s: ls and inspect say %s and exit 0', async (_, bytes, status, problem) => {
    const name = posixName();
    writeFileSync(`/dev/shm${name}`, bytes);
    const content = await contentOf(name);
    expect(content).toMatchObject({ kind: 'channel', status });
    expect(content!.problems.join('\n')).toMatch(problem);
    const row = await lsRow(name);
    expect(row).toMatch(
      status === 'damaged' ? /\sdamaged spsc / : new RegExp(`\\schannel ${status}: `),
    );
    if (bytes.length >= 64) {
      const view = await inspectView([name, '--as', 'channel']);
      expect(view.state).toBe(status);
      expect(view.problems.join('\n')).toMatch(problem);
      if (status === 'damaged') {
        expect(view.data.senders![0]).toMatchObject({ owner: -16, alive: false });
        expect(view.problems.join('\n')).toMatch(/the object has 4096 bytes, its ring needs 8192/);
      }
    } else {
      const short = await shmkit(['inspect', name, '--as', 'channel']);
      expect(short).toMatchObject({ code: 1, signal: null });
      expect(short.stderr).toBe(
        `shmkit: inspect: a channel at offset 0 needs 64 bytes, but posix-shm ${name} has ${bytes.length}\n`,
      );
    }
    // inspect without --as tries the channel view and shows the verdict.
    const text = await shmkit(['inspect', name]);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain('content   channel');
  });

  it(
    'an attacker rewriting and truncating a channel header while ls, inspect and watch-style reads run',
    { timeout: 120_000 },
    async () => {
      const name = posixName();
      const path = `/dev/shm${name}`;
      writeFileSync(path, hostile(8192, SPSC));
      // Random words (valid static ones half the time) and random sizes, as fast as it can.
      const attacker = keep(
        spawnNode(
          `import { openSync, writeSync, ftruncateSync } from 'node:fs';
           const fd = openSync(${JSON.stringify(path)}, 'r+');
           const words = new Uint32Array(1024);
           const magic = Buffer.from('shmkchan', 'latin1');
           console.log('ready', process.pid);
           for (let n = 0; ; n++) {
             for (let i = 0; i < words.length; i++) words[i] = (Math.random() * 2 ** 32) >>> 0;
             if (n % 2 === 0) words.set([1, 1 + (n % 3), 12, 1, 1, 4096, 0], 2);
             const bytes = Buffer.from(words.buffer);
             magic.copy(bytes);
             writeSync(fd, bytes, 0, bytes.length, 0);
             ftruncateSync(fd, [0, 7, 64, 100, 4096, 8192][n % 6]);
           }`,
        ),
      );
      await started(attacker);
      for (let i = 0; i < 8; i++) {
        for (const args of [
          ['ls', '--type', 'posix-shm', '--name', name],
          ['ls', '--json', '--type', 'posix-shm', '--name', name],
          ['inspect', name, '--as', 'channel'],
          ['inspect', name],
        ]) {
          const result = await shmkit(args);
          expect(result.signal, args.join(' ')).toBe(null);
          expect([0, 1], `${args.join(' ')}: ${result.stderr}`).toContain(result.code);
          // The only failure allowed is the object being too short (or gone short) for a view.
          if (result.code === 1) expect(result.stderr).toMatch(/needs 64 bytes|shrank/);
        }
      }
      attacker.kill('SIGKILL');
      await exited(attacker);
    },
  );
});
