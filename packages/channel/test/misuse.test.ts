// What a caller in the same process can get wrong, or do on purpose: views
// that lie about their length, values a codec cannot encode, listeners that
// receive or close from inside the call that emitted them. Each attempt runs
// in a child process, so a crash is a failed test, not a dead runner. None
// may corrupt the channel, hang, or end in an error without a code.
import { describe, expect, it } from 'vitest';
import { channelName, expectClean, lastJson, startCode } from './helpers';

async function inChild<T>(code: string, name: string): Promise<T> {
  const child = startCode(
    `import { Channel } from '@shmkit/channel';
     const name = process.argv.at(-1);
     const codeOf = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code ?? 'UNCODED ' + e.message; } };
     const out = (value) => console.log(JSON.stringify(value));
     ${code}`,
    [name],
  );
  return lastJson<T>(expectClean(await child.result));
}

describe('a caller trying to break a channel from its own process', () => {
  it('reads every option once, so a getter cannot pass a check and change after it', async () => {
    const out = await inChild<{ reads: unknown[]; trick: string }>(
      `const reads = [];
       const counted = (o) => { const seen = {}; reads.push(seen);
         return new Proxy(o, { get(t, k, r) { seen[k] = (seen[k] ?? 0) + 1; return Reflect.get(t, k, r); } }); };
       const channel = Channel.create(name, counted({ kind: 'spsc', capacity: 4096, exclusive: true, mode: 0o600 }));
       const tx = channel.sender(counted({ batch: 8 }));
       tx.writable(counted({ highWaterMark: 4, autoClose: false }));
       channel.receiver(counted({ codec: 'bytes' })).readable(counted({ highWaterMark: 4, autoClose: false }));
       let n = 0;
       const trick = codeOf(() => Channel.create(name + '-t', { kind: 'spsc', get senders() { return ++n === 1 ? 4 : undefined; } }));
       out({ reads: reads.map((r) => Object.values(r).every((count) => count === 1) ? 'once' : r), trick });
       channel.close(); Channel.unlink(name);`,
      channelName(),
    );
    expect(out).toEqual({
      reads: ['once', 'once', 'once', 'once', 'once'],
      trick: 'ERR_INVALID_ARG_VALUE',
    });
  });

  it('a view whose own length property lies is sent whole, and the messages around it stay intact', async () => {
    const out = await inChild<{ sizes: number[]; proxies: string[] }>(
      `const channel = Channel.create(name, { kind: 'spsc', capacity: 8192, exclusive: true });
       const tx = channel.sender(), rx = channel.receiver();
       tx.send(Buffer.from('before'));
       const liar = new Uint8Array(2000).fill(9);
       Object.defineProperty(liar, 'length', { value: 1 });
       tx.send(liar);
       tx.send(Buffer.from('after'));
       const sizes = [rx.receive().length, rx.receive().length, rx.receive().length];
       // Proxies of views, and objects that only inherit from Uint8Array.prototype, are no views.
       const proxies = [
         new Proxy(new Uint8Array(16), { get: (t, k) => (k === 'length' ? -1 : Reflect.get(t, k)) }),
         new Proxy(new Uint8Array(16), {}),
         Object.create(Uint8Array.prototype),
       ].map((m) => codeOf(() => tx.send(m)));
       tx.send(Buffer.from('still fine'));
       out({ sizes, proxies, last: rx.receive().toString() });
       channel.close(); Channel.unlink(name);`,
      channelName(),
    );
    expect(out).toEqual({
      sizes: [6, 2000, 5],
      proxies: ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE'],
      last: 'still fine',
    });
  });

  it('a subclass whose byteLength lies, sent while the ring is full, is sent whole', async () => {
    const out = await inChild<{ sent: boolean; sizes: number[]; intact: boolean }>(
      `const channel = Channel.create(name, { kind: 'spsc', capacity: 8192, exclusive: true });
       const tx = channel.sender(), rx = channel.receiver();
       let n = 0;
       while (tx.trySend(Buffer.alloc(1000, n & 255))) n++;
       class Liar extends Uint8Array { get byteLength() { return 8; } get length() { return 8; } }
       const liar = new Liar(2000).fill(0xab);
       const sending = tx.sendAsync(liar, { timeout: 10_000 });
       const sizes = [];
       let intact = true;
       for (let i = 0; i < n; i++) {
         const m = rx.receive({ timeout: 10_000 });
         sizes.push(m.length);
         if (m[999] !== (i & 255)) intact = false;
       }
       const sent = await sending;
       const last = rx.receive({ timeout: 10_000 });
       sizes.push(last.length);
       if (last.some((b) => b !== 0xab)) intact = false;
       out({ sent, sizes: [...new Set(sizes)], intact });
       channel.close(); Channel.unlink(name);`,
      channelName(),
    );
    expect(out).toEqual({ sent: true, sizes: [1000, 2000], intact: true });
  });

  it('detached and out-of-bounds buffers, and values a codec cannot encode, are refused by code', async () => {
    const out = await inChild<Record<string, string>>(
      `const { serialize } = await import('node:v8');
       const bytes = Channel.create(name, { capacity: 8192, exclusive: true });
       const json = Channel.create(name + '-j', { capacity: 8192, codec: 'json', exclusive: true });
       const v8 = Channel.create(name + '-v', { capacity: 8192, codec: 'v8', exclusive: true });
       const tx = bytes.sender(), jtx = json.sender(), vtx = v8.sender();
       const detached = new ArrayBuffer(64); structuredClone(detached, { transfer: [detached] });
       const view = new Uint8Array(new ArrayBuffer(64)); structuredClone(view.buffer, { transfer: [view.buffer] });
       const rab = new ArrayBuffer(64, { maxByteLength: 128 });
       const fixed = new Uint8Array(rab, 0, 64); rab.resize(16);
       const circular = {}; circular.self = circular;
       const results = {
         detachedBuffer: codeOf(() => tx.send(detached)),
         detachedView: codeOf(() => tx.send(view)),
         outOfBounds: codeOf(() => tx.send(fixed)),
         jsonCycle: codeOf(() => jtx.send(circular)),
         jsonBigInt: codeOf(() => jtx.send(1n)),
         v8Function: codeOf(() => vtx.send(() => 1)),
         v8Symbol: codeOf(() => vtx.send(Symbol('s'))),
       };
       // A peer with the bytes codec sends what decodes to undefined: never "no message".
       vtx.close();
       const raw = Channel.open(name + '-v').sender({ codec: 'bytes' });
       raw.send(serialize(undefined));
       raw.flush();
       const vrx = v8.receiver();
       results.v8Undefined = codeOf(() => vrx.receive({ timeout: 1000 }));
       const rejected = await jtx.sendAsync(circular).then(() => 'ok', (e) => e.code);
       out({ ...results, jsonCycleAsync: rejected, cause: (() => { try { jtx.send(circular); } catch (e) { return e.cause instanceof TypeError; } })() });
       for (const c of [bytes, json, v8]) { c.close(); Channel.unlink(c.name); }`,
      channelName(),
    );
    expect(out).toEqual({
      detachedBuffer: 'ERR_INVALID_ARG_VALUE',
      detachedView: 'ERR_INVALID_ARG_VALUE',
      outOfBounds: 'ERR_INVALID_ARG_VALUE',
      jsonCycle: 'ERR_INVALID_ARG_VALUE',
      jsonBigInt: 'ERR_INVALID_ARG_VALUE',
      v8Function: 'ERR_INVALID_ARG_VALUE',
      v8Symbol: 'ERR_INVALID_ARG_VALUE',
      v8Undefined: 'ERR_SHMKIT_CHANNEL_DECODE',
      jsonCycleAsync: 'ERR_INVALID_ARG_VALUE',
      cause: true,
    });
  });

  it("a 'lapped' listener that receives sees one event and the true count, without recursion", async () => {
    const out = await inChild<{ events: number; missed: number; got: number | string }>(
      `const channel = Channel.create(name, { kind: 'broadcast', capacity: 4096, exclusive: true });
       const tx = channel.sender(), rx = channel.receiver();
       let events = 0;
       rx.on('lapped', () => { events++; rx.tryReceive(); });
       for (let i = 0; i < 200; i++) tx.send(Buffer.alloc(100, i));
       tx.flush();
       let got;
       try { got = rx.tryReceive()?.length; } catch (e) { got = e.code ?? 'UNCODED ' + e.message; }
       out({ events, missed: rx.missed, got });
       channel.close(); Channel.unlink(name);`,
      channelName(),
    );
    // 200 records of 112 bytes in a 4 KiB ring: at most 36 are still there.
    expect(out.events).toBe(1);
    expect(out.got).toBe(100);
    expect(out.missed).toBeGreaterThan(150);
    expect(out.missed).toBeLessThan(200);
  });

  it("closing the receiver or the channel from a 'sender-died' listener ends the receive with ERR_SHMKIT_CLOSED", async () => {
    const out = await inChild<{ receiver: string[]; channel: string[]; successor: string[] }>(
      `const { spawnSync } = await import('node:child_process');
       const killSender = (n) => spawnSync(process.execPath, ['--input-type=module', '-e',
         "import { Channel } from '@shmkit/channel'; Channel.open(process.argv.at(-1)).sender(); process.kill(process.pid, 'SIGKILL');", n]);
       const attempt = async (closeChannel) => {
         const n = name + (closeChannel ? '-c' : '-r');
         const channel = Channel.create(n, { kind: 'mpsc', senders: 2, capacity: 4096, exclusive: true });
         const rx = channel.receiver(), keep = channel.sender();
         killSender(n);
         let successor;
         rx.on('sender-died', () => {
           if (closeChannel) { channel.close(); return; }
           rx.close();
           successor = channel.receiver();
           keep.send(Buffer.from('for the successor')); keep.flush();
         });
         const codes = [];
         try { rx.receive({ timeout: 5000 }); codes.push('returned'); } catch (e) { codes.push(e.code ?? 'UNCODED ' + e.message); }
         const later = [];
         if (successor) later.push(successor.tryReceive()?.toString(), String(successor.tryReceive()));
         if (!closeChannel) channel.close();
         Channel.unlink(n);
         return [codes, later];
       };
       const [receiver, successor] = await attempt(false);
       const [channel] = await attempt(true);
       out({ receiver, channel, successor });`,
      channelName(),
    );
    expect(out).toEqual({
      receiver: ['ERR_SHMKIT_CLOSED'],
      channel: ['ERR_SHMKIT_CLOSED'],
      // Delivered once, to the receiver that took the slot.
      successor: ['for the successor', 'undefined'],
    });
  });
});
