// The kernel queues against other programs: a C peer compiled here, Python's
// sysv_ipc (Debian's python3-sysv-ipc, installed by the vitest global setup)
// and the util-linux tools.
import { spawn } from 'node:child_process';
import { run, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { PosixMessageQueue, SysvMessageQueue } from '../../src/index';
import { cPeer } from './c-peer';
import { blockedIn, collect, mqName, track, until } from './helpers';

async function c(...args: string[]): Promise<string> {
  const result = await run(cPeer(), args);
  if (result.code !== 0)
    throw new Error(`c peer ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** Debian's python3 (the one python3-sysv-ipc installs into). */
async function python(code: string, ...args: string[]): Promise<string> {
  const result = await run('/usr/bin/python3', ['-c', code, ...args]);
  if (result.code !== 0) throw new Error(`python failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

const tools = { env: { TZ: 'UTC', LC_ALL: 'C' } };

describe('POSIX queues and C', () => {
  it('C receives what node sends, by priority', async () => {
    using q = PosixMessageQueue.create(mqName(), { maxMessages: 8, messageSize: 128 });
    q.send('low', { priority: 1 });
    q.send('high', { priority: 30000 });
    q.send('mid', { priority: 7 });
    q.send('low2', { priority: 1 });
    expect(await c('mq-recv', q.name, '4')).toBe('30000 high\n7 mid\n1 low\n1 low2\n');
    expect(q.attributes().currentMessages).toBe(0);
  });

  it('node receives what C sends, and C sees the capacity node created', async () => {
    const name = mqName();
    expect(await c('mq-create', name, '5', '300')).toBe('created\n');
    using q = PosixMessageQueue.open(name);
    expect([q.maxMessages, q.messageSize, q.created]).toEqual([5, 300, false]);
    await c('mq-send', name, '3', 'three-a', 'three-b');
    await c('mq-send', name, '9', 'nine');
    const got = [q.receive(), q.receive(), q.receive()].map((m) => [m.priority, m.data.toString()]);
    expect(got).toEqual([
      [9, 'nine'],
      [3, 'three-a'],
      [3, 'three-b'],
    ]);
    using mine = PosixMessageQueue.create(mqName(), { maxMessages: 2, messageSize: 77 });
    mine.send('x');
    expect(await c('mq-attr', mine.name)).toBe('maxmsg=2 msgsize=77 curmsgs=1\n');
  });

  it('a C sender blocked on a full queue goes when node receives (both ways of waiting)', async () => {
    using q = PosixMessageQueue.create(mqName(), { maxMessages: 1, messageSize: 16 });
    const child = spawn(cPeer(), ['mq-send', q.name, '0', 'a', 'b', 'c']);
    const sender = collect(child);
    await until(
      () => q.attributes().currentMessages === 1 && blockedIn(child.pid!, ['mq_timedsend']),
    );
    const got: string[] = [];
    got.push((await q.receiveAsync({ timeout: 20_000 })).data.toString());
    got.push(q.receive({ timeout: 20_000 }).data.toString());
    got.push((await q.receiveAsync({ timeout: 20_000 })).data.toString());
    expect(got).toEqual(['a', 'b', 'c']);
    expect((await sender).code).toBe(0);
  });
});

describe('System V queues and C', () => {
  it('C receives what node sends, selecting by type', async () => {
    const q = track(SysvMessageQueue.create());
    q.send('one', { type: 1 });
    q.send('two', { type: 2 });
    q.send('one again', { type: 1 });
    expect(await c('msg-recv', String(q.id), '2', '1')).toBe('2 two\n');
    expect(await c('msg-recv', String(q.id), '-5', '2')).toBe('1 one\n1 one again\n');
  });

  it('node receives what C sends, and a C receiver blocked for a type wakes for node', async () => {
    const key = uniqueKey();
    const id = Number(await c('msg-create', String(key)));
    const q = track(SysvMessageQueue.open({ key }));
    expect(q.id).toBe(id);
    await c('msg-send', String(id), '4', 'four', 'more four');
    await c('msg-send', String(id), '0x7fffffffffffffff', 'max type');
    expect(q.receive({ type: -4 })).toEqual({ type: 4, data: Buffer.from('four') });
    expect(q.receive({ type: 2n ** 63n - 1n, bigint: true })).toEqual({
      type: 2n ** 63n - 1n,
      data: Buffer.from('max type'),
    });
    const receiver = spawn(cPeer(), ['msg-recv', String(id), '6', '1']);
    const waiting = collect(receiver);
    await until(() => blockedIn(receiver.pid!, ['msgrcv']));
    await q.sendAsync('for six', { type: 6 });
    expect((await waiting).stdout).toBe('6 for six\n');
    expect(q.receive()).toEqual({ type: 4, data: Buffer.from('more four') });
  });

  it("C's IPC_STAT, ipcs -q -i and lsipc agree with stat()", async () => {
    const key = uniqueKey();
    const q = track(SysvMessageQueue.create({ key, mode: 0o640 }));
    q.set({ maxBytes: 4000 });
    q.send('12345', { type: 3 });
    q.send('678');
    q.receive({ type: 3 });
    const st = q.stat();
    const fields = Object.fromEntries(
      (await c('msg-stat', String(q.id)))
        .trim()
        .split(' ')
        .map((kv) => kv.split('=') as [string, string]),
    );
    const seconds = (d: Date | null) => (d === null ? 0 : d.getTime() / 1000);
    expect(Number(fields.key)).toBe(key);
    expect(Number(fields.mode)).toBe(0o640);
    for (const [c_, mine] of [
      ['uid', st.uid],
      ['gid', st.gid],
      ['cuid', st.cuid],
      ['cgid', st.cgid],
      ['cbytes', st.bytes],
      ['qnum', st.messages],
      ['qbytes', st.maxBytes],
      ['lspid', st.lspid],
      ['lrpid', st.lrpid],
      ['stime', seconds(st.stime)],
      ['rtime', seconds(st.rtime)],
      ['ctime', seconds(st.ctime)],
    ] as const) {
      expect(Number(fields[c_]), c_).toBe(mine);
    }
    expect([st.bytes, st.messages, st.maxBytes, st.lspid, st.lrpid]).toEqual([
      3,
      1,
      4000,
      process.pid,
      process.pid,
    ]);

    const ipcs = (await run('ipcs', ['-q', '-i', String(q.id)], tools)).stdout;
    const field = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(ipcs)?.[1];
    expect(Number(field('msqid'))).toBe(q.id);
    expect(field('mode')).toBe('0640');
    expect(Number(field('cbytes'))).toBe(st.bytes);
    expect(Number(field('qbytes'))).toBe(st.maxBytes);
    expect(Number(field('qnum'))).toBe(st.messages);
    expect(Number(field('lspid'))).toBe(st.lspid);
    expect(Number(field('lrpid'))).toBe(st.lrpid);
    const list = (await run('ipcs', ['-q'], tools)).stdout;
    const row = list.split('\n').find((line) => line.split(/\s+/)[1] === String(q.id));
    expect(row?.trim().split(/\s+/)).toEqual([
      `0x${key.toString(16).padStart(8, '0')}`,
      String(q.id),
      'root',
      '640',
      '3',
      '1',
    ]);

    const lsipc = JSON.parse(
      (
        await run(
          'lsipc',
          [
            '-q',
            '--json',
            '-b',
            '-o',
            'KEY,ID,PERMS,USEDBYTES,MSGS,LSPID,LRPID',
            '-i',
            String(q.id),
          ],
          tools,
        )
      ).stdout,
    ) as { messages: Record<string, string | number>[] };
    const entry = lsipc.messages[0]!;
    expect(Number(entry.id)).toBe(q.id);
    expect(entry.key).toBe(`0x${key.toString(16).padStart(8, '0')}`);
    expect(entry.perms).toBe('rw-r-----');
    expect(Number(entry.usedbytes)).toBe(st.bytes);
    expect(Number(entry.msgs)).toBe(st.messages);
    expect(Number(entry.lspid)).toBe(st.lspid);
    expect(Number(entry.lrpid)).toBe(st.lrpid);
  });

  it('ipcrm -q removes it: calls then fail with EINVAL', async () => {
    const q = track(SysvMessageQueue.create());
    expect((await run('ipcrm', ['-q', String(q.id)])).code).toBe(0);
    expect(() => q.send('x')).toThrow(expect.objectContaining({ code: 'EINVAL', id: q.id }));
  });
});

describe("Python's sysv_ipc.MessageQueue", () => {
  it('reads what node sends, types included', async () => {
    const key = uniqueKey();
    const q = track(SysvMessageQueue.create({ key }));
    q.send(Buffer.from([0, 1, 2, 255]), { type: 7 });
    q.send('héllo', { type: 2 });
    const out = await python(
      `
import sys, sysv_ipc
q = sysv_ipc.MessageQueue(int(sys.argv[1]))
a, ta = q.receive(type=2)
b, tb = q.receive()
print(ta, a.decode(), tb, list(b), q.current_messages, q.id)
`,
      String(key),
    );
    expect(out).toBe(`2 héllo 7 [0, 1, 2, 255] 0 ${q.id}\n`);
  });

  it('node reads what Python sends, and a queue Python made', async () => {
    const key = uniqueKey();
    const out = await python(
      `
import sys, sysv_ipc
q = sysv_ipc.MessageQueue(int(sys.argv[1]), sysv_ipc.IPC_CREX, mode=0o620)
q.send(b'from python', type=5)
q.send('typed text'.encode(), type=1)
print(q.id)
`,
      String(key),
    );
    const q = track(SysvMessageQueue.open({ key }));
    expect(q.id).toBe(Number(out));
    expect(q.stat().mode).toBe(0o620);
    expect(q.receive({ type: 5 })).toEqual({ type: 5, data: Buffer.from('from python') });
    expect((await q.receiveAsync()).data.toString()).toBe('typed text');
  });

  it('a Python receiver blocked on an empty queue wakes for node, and the reverse', async () => {
    const key = uniqueKey();
    const q = track(SysvMessageQueue.create({ key }));
    const child = spawn('/usr/bin/python3', [
      '-c',
      `
import sys, sysv_ipc
q = sysv_ipc.MessageQueue(int(sys.argv[1]))
m, t = q.receive(type=3)
q.send(m.upper(), type=4)
`,
      String(key),
    ]);
    const pythonReceiver = collect(child);
    const reply = q.receiveAsync({ type: 4, timeout: 20_000 });
    await until(() => blockedIn(child.pid!, ['msgrcv']));
    q.send('ping', { type: 3 });
    expect(await reply).toEqual({ type: 4, data: Buffer.from('PING') });
    expect((await pythonReceiver).code).toBe(0);
  });
});
