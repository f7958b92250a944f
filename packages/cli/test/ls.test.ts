// `shmkit ls` against objects that other programs made: ipcmk, a C
// program, Python (multiprocessing.shared_memory and sysv_ipc) and a plain
// file, checked against ipcs/lsipc and /proc.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { compileC, uniqueKey } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA, type IpcObject, type LsJson } from '../src/index';
import {
  find,
  ipcmk,
  keep,
  later,
  lsJson,
  posixName,
  python,
  removeLater,
  shmkit,
  started,
  sysvipc,
  HOLDER_C,
} from './helpers';

const PYTHON = `
import os, sys, sysv_ipc
from multiprocessing import shared_memory
shm = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=5000)
seg = sysv_ipc.SharedMemory(int(sys.argv[2], 16), sysv_ipc.IPC_CREX, mode=0o600, size=8192)
sem = sysv_ipc.Semaphore(int(sys.argv[3], 16), sysv_ipc.IPC_CREX, mode=0o640, initial_value=2)
mq = sysv_ipc.MessageQueue(int(sys.argv[4], 16), sysv_ipc.IPC_CREX, mode=0o600)
mq.send(b'hello world')
print('ready', os.getpid(), seg.id, sem.id, mq.id, flush=True)
sys.stdin.read()
`;

const hex = (key: number) => `0x${key.toString(16).padStart(8, '0')}`;

describe('shmkit ls', () => {
  it('lists what ipcmk, a C program, Python and a plain file made, with the processes using them', async () => {
    const segment = ipcmk(['-M', '8192', '-p', '0640']);
    const semSet = ipcmk(['-S', '3']);
    const queue = ipcmk(['-Q']);

    const cName = posixName();
    const cSem = posixName();
    const cKey = uniqueKey();
    const holder = keep(spawn(compileC(HOLDER_C, ['-pthread']), [cName, '12345', cSem, hex(cKey)]));
    const [, cPidText, cSegText] = await started(holder);
    const cPid = Number(cPidText);
    const cSeg = removeLater('shm', Number(cSegText));

    const pyName = posixName();
    const [pyKey, pySemKey, pyMsgKey] = [uniqueKey(), uniqueKey(), uniqueKey()];
    const py = python(PYTHON, [pyName.slice(1), hex(pyKey), hex(pySemKey), hex(pyMsgKey)]);
    const [, pyPidText, rest] = await started(py, /ready (\d+) (.*)/);
    const pyPid = Number(pyPidText);
    const [pySeg, pySem, pyMsg] = rest!.split(' ').map(Number) as [number, number, number];
    removeLater('shm', pySeg);
    removeLater('sem', pySem);
    removeLater('msg', pyMsg);

    const plain = posixName();
    writeFileSync(`/dev/shm${plain}`, 'hello\n', { mode: 0o604 });

    const json = await lsJson();
    // When something here fails under load, say what ls and the kernel saw.
    const mine = new Set<string | number>([
      segment,
      semSet,
      queue,
      cSeg,
      pySeg,
      pySem,
      pyMsg,
      cName,
      cSem,
      pyName,
      plain,
    ]);
    const seen = `ls saw: ${JSON.stringify(json.objects.filter((o) => mine.has(o.name) || ('id' in o && mine.has(o.id))))}\nipcs:\n${spawnSync('ipcs', { encoding: 'utf8' }).stdout}`;
    expect(json.shmkit, seen).toBe('ls');
    expect(json.schema, seen).toBe(JSON_SCHEMA);

    expect(find(json, 'sysv-shm', { id: segment }), seen).toMatchObject({
      size: 8192,
      mode: 0o640,
      perms: 'rw-r-----',
      nattch: 0,
      cpidAlive: false,
      owner: { uid: 0, user: 'root' },
    });
    expect(find(json, 'sysv-sem', { id: semSet }), seen).toMatchObject({ nsems: 3, mode: 0o644 });
    expect(find(json, 'sysv-msg', { id: queue }), seen).toMatchObject({ messages: 0, bytes: 0 });

    const cObject = find(json, 'posix-shm', { name: cName });
    expect(cObject, seen).toMatchObject({ size: 12345, mode: 0o640, path: `/dev/shm${cName}` });
    expect(cObject!.users.processes, seen).toEqual([
      { pid: cPid, command: expect.stringMatching(/^prog-/), how: ['map'] },
    ]);
    expect(find(json, 'posix-sem', { name: cSem }), seen).toMatchObject({
      value: 3,
      waiters: 0,
      problem: null,
      size: 32,
    });
    expect(
      find(json, 'posix-sem', { name: cSem })!.users.processes.map((p) => p.pid),
      seen,
    ).toEqual([cPid]);
    const cSegment = find(json, 'sysv-shm', { id: cSeg });
    expect(cSegment, seen).toMatchObject({
      key: cKey,
      name: hex(cKey),
      size: 12288,
      nattch: 1,
      cpid: cPid,
      cpidAlive: true,
    });
    expect(cSegment!.users.processes, seen).toEqual([
      { pid: cPid, command: expect.any(String), how: ['map'] },
    ]);

    const pyObject = find(json, 'posix-shm', { name: pyName });
    expect(pyObject, seen).toMatchObject({ size: 5000, mode: 0o600 });
    expect(
      pyObject!.users.processes.map((p) => [p.pid, p.command]),
      seen,
    ).toEqual([[pyPid, 'python3']]);
    expect(find(json, 'sysv-shm', { id: pySeg }), seen).toMatchObject({
      key: pyKey,
      size: 8192,
      nattch: 1,
      cpid: pyPid,
    });
    expect(find(json, 'sysv-sem', { id: pySem }), seen).toMatchObject({
      key: pySemKey,
      nsems: 1,
      mode: 0o640,
    });
    expect(find(json, 'sysv-msg', { id: pyMsg }), seen).toMatchObject({
      key: pyMsgKey,
      messages: 1,
      bytes: 11,
      lspid: pyPid,
    });

    expect(find(json, 'posix-shm', { name: plain }), seen).toMatchObject({
      size: 6,
      mode: 0o604,
      users: { processes: [] },
    });
  });

  it('agrees with lsipc and ipcs on key, id, owner, size and nattch', async () => {
    const mine = [ipcmk(['-M', '4096']), ipcmk(['-M', '65536', '-p', '0600'])];
    const py = python(
      `import sysv_ipc, sys\nseg = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=1000)\nprint('ready', seg.id, flush=True)\nsys.stdin.read()`,
    );
    const [, idText] = await started(py, /ready (\d+)/);
    mine.push(removeLater('shm', Number(idText)));
    const semSet = ipcmk(['-S', '2']);
    const queue = ipcmk(['-Q']);

    const lsipc = (args: string[]) =>
      JSON.parse(
        spawnSync('lsipc', [...args, '--json', '--bytes'], { encoding: 'utf8' }).stdout,
      ) as Record<string, Array<Record<string, string>>>;
    const before = lsipc(['-m', '-o', 'KEY,ID,OWNER,SIZE,NATTCH']).sharedmemory!;
    const json = await lsJson(['--type', 'sysv']);
    const after = lsipc(['-m', '-o', 'KEY,ID,OWNER,SIZE,NATTCH']).sharedmemory!;
    // Other programs on the machine may come and go meanwhile: compare
    // what both snapshots of lsipc agree on.
    const stable = before.filter((row) =>
      after.some((other) => JSON.stringify(other) === JSON.stringify(row)),
    );
    for (const id of mine) expect(stable.map((row) => Number(row.id))).toContain(id);
    for (const row of stable) {
      const object = find(json, 'sysv-shm', { id: Number(row.id) });
      expect(object, `segment ${row.id}`).toBeDefined();
      expect({
        key: hex(object!.key),
        owner: object!.owner.user,
        size: object!.size,
        nattch: object!.nattch,
      }).toEqual({
        key: row.key,
        owner: row.owner,
        size: Number(row.size),
        nattch: Number(row.nattch),
      });
    }
    expect(find(json, 'sysv-shm', { id: Number(idText) })!.nattch).toBe(1);

    const sems = lsipc(['-s', '-o', 'KEY,ID,OWNER,NSEMS']).semaphores!;
    const set = sems.find((row) => Number(row.id) === semSet)!;
    expect(find(json, 'sysv-sem', { id: semSet })).toMatchObject({
      key: parseInt(set.key!, 16),
      nsems: Number(set.nsems),
      owner: { user: set.owner },
    });
    const queues = lsipc(['-q', '-o', 'KEY,ID,OWNER,USEDBYTES,MSGS']).messages!;
    const q = queues.find((row) => Number(row.id) === queue)!;
    expect(find(json, 'sysv-msg', { id: queue })).toMatchObject({
      key: parseInt(q.key!, 16),
      bytes: Number(q.usedbytes),
      messages: Number(q.msgs),
    });

    // ipcs prints the same table differently: key, shmid, owner, perms, bytes, nattch.
    const ipcs = spawnSync('ipcs', ['-m'], { encoding: 'utf8' }).stdout;
    for (const id of mine) {
      const line = ipcs.split('\n').find((l) => l.split(/\s+/)[1] === String(id))!;
      const [key, , owner, perms, bytes, nattch] = line.trim().split(/\s+/);
      const object = find(json, 'sysv-shm', { id })!;
      expect([
        hex(object.key),
        object.owner.user,
        object.mode.toString(8),
        String(object.size),
      ]).toEqual([key, owner, perms, bytes]);
      expect(Number(nattch)).toBe(object.nattch);
    }
    // /proc/sysvipc is what both read: the creator pids agree too.
    for (const row of sysvipc('shm').filter((r) => mine.includes(Number(r.shmid)))) {
      expect(find(json, 'sysv-shm', { id: Number(row.shmid) })!.cpid).toBe(Number(row.cpid));
    }
  });

  it('filters by type, owner and name, and sorts', async () => {
    const names = [
      posixName('shmkit-cli-filter-b'),
      posixName('shmkit-cli-filter-a'),
      posixName('shmkit-cli-filter-c'),
    ];
    names.forEach((name, i) => writeFileSync(`/dev/shm${name}`, Buffer.alloc((i + 1) * 1000)));
    const sem = posixName('shmkit-cli-filter-sem');
    writeFileSync(`/dev/shm/sem.${sem.slice(1)}`, Buffer.alloc(32));
    const segment = ipcmk(['-M', '4096']);

    const byName = await lsJson(['--name', '/shmkit-cli-filter-?-*']);
    expect(byName.objects.map((o) => o.name)).toEqual([...names].sort());
    expect(byName.objects.every((o) => o.type === 'posix-shm')).toBe(true);

    const bySize = await lsJson([
      '--name',
      '/shmkit-cli-filter-*',
      '--type',
      'posix-shm',
      '--sort',
      'size',
      '--reverse',
    ]);
    expect(bySize.objects.map((o) => o.name)).toEqual([names[2], names[1], names[0]]);

    const sems = await lsJson(['--type', 'posix-sem', '--name', '/shmkit-cli-filter-sem*']);
    expect(sems.objects.map((o) => [o.type, o.name])).toEqual([['posix-sem', sem]]);

    const sysv = await lsJson(['-t', 'shm,sem', '--owner', 'root']);
    expect(sysv.objects.some((o) => o.type === 'sysv-shm' && o.id === segment)).toBe(true);
    expect(
      sysv.objects.every((o) =>
        ['sysv-shm', 'posix-shm', 'sysv-sem', 'posix-sem'].includes(o.type),
      ),
    ).toBe(true);
    const byUid = await lsJson(['--owner', '0', '--type', 'sysv-shm']);
    expect(byUid.objects.some((o) => 'id' in o && o.id === segment)).toBe(true);
    const nobody = await lsJson(['--owner', 'nobody', '--type', 'sysv-shm']);
    expect(nobody.objects.some((o) => 'id' in o && o.id === segment)).toBe(false);
  });

  it('prints an aligned table: one row per object, the C holder with its user', async () => {
    const name = posixName();
    const holder = keep(
      spawn(compileC(HOLDER_C, ['-pthread']), [name, '65536', posixName(), hex(uniqueKey())]),
    );
    const [, pid, seg] = await started(holder);
    removeLater('shm', Number(seg));
    const result = await shmkit(['ls', '--type', 'posix-shm', '--name', name]);
    expect(result.code).toBe(0);
    const [header, row, ...more] = result.stdout.trimEnd().split('\n');
    expect(more).toEqual([]);
    expect(header).toMatch(/^TYPE\s+NAME\s+ID\s+OWNER\s+MODE\s+SIZE\s+USE\s+INFO$/);
    expect(row!.split(/\s+/).slice(0, 8)).toEqual([
      'posix-shm',
      name,
      '-',
      'root',
      '0640',
      '64K',
      expect.stringMatching(/^1/),
      pid,
    ]);
    // Every column starts where its header does.
    for (const title of ['NAME', 'OWNER', 'MODE']) {
      const at = header!.indexOf(title);
      expect(row![at - 1]).toBe(' ');
      expect(row![at]).not.toBe(' ');
    }
  });

  it('is not fooled by what a hostile user puts in /dev/shm', async () => {
    const fifo = posixName();
    const fifoSem = `/dev/shm/sem.${fifo.slice(1)}`;
    expect(spawnSync('mkfifo', [fifoSem]).status).toBe(0);
    const short = posixName();
    writeFileSync(`/dev/shm/sem.${short.slice(1)}`, Buffer.alloc(12, 0xff));
    const garbage = posixName();
    writeFileSync(
      `/dev/shm/sem.${garbage.slice(1)}`,
      Buffer.from(new Uint32Array([5, 0, 77, 0, 0, 0, 0, 0]).buffer),
    );
    const huge = posixName();
    writeFileSync(
      `/dev/shm/sem.${huge.slice(1)}`,
      Buffer.from(new Uint32Array([0xffff_fff0, 0, 128, 0, 0, 0, 0, 0]).buffer),
    );
    const link = posixName();
    symlinkSync('/etc/passwd', `/dev/shm${link}`);
    const dir = posixName();
    mkdirSync(`/dev/shm${dir}`);
    later(() => spawnSync('rmdir', [`/dev/shm${dir}`]));

    // A FIFO opened for reading blocks until a writer comes: ls must never open it.
    const started_ = Date.now();
    const json = await lsJson(['--type', 'posix']);
    expect(Date.now() - started_).toBeLessThan(30_000);
    expect(find(json, 'posix-sem', { name: fifo })).toBeUndefined();
    expect(find(json, 'posix-shm', { name: link })).toBeUndefined();
    expect(find(json, 'posix-shm', { name: dir })).toBeUndefined();
    expect(find(json, 'posix-sem', { name: short })).toMatchObject({
      value: null,
      problem: 'too small for a sem_t: 12 of 32 bytes',
    });
    expect(find(json, 'posix-sem', { name: garbage })).toMatchObject({
      value: 5,
      problem: expect.stringContaining('private word is 77'),
    });
    expect(find(json, 'posix-sem', { name: huge })).toMatchObject({
      value: null,
      problem: expect.stringContaining('above SEM_VALUE_MAX'),
    });
    expect(statSync(fifoSem).isFIFO()).toBe(true);
  });
});

/** The fields each type has in `ls --json`, and their JSON types: what the README documents. */
const SCHEMA: Record<IpcObject['type'], Record<string, string>> = {
  'sysv-shm': {
    key: 'number',
    id: 'number',
    creator: 'object',
    size: 'number',
    nattch: 'number',
    cpid: 'number',
    cpidAlive: 'boolean',
    lpid: 'number',
    atime: 'string|null',
    dtime: 'string|null',
    ctime: 'string|null',
    removed: 'boolean',
    locked: 'boolean',
    rss: 'number|null',
    swap: 'number|null',
    users: 'object',
  },
  'sysv-sem': {
    key: 'number',
    id: 'number',
    creator: 'object',
    nsems: 'number',
    otime: 'string|null',
    ctime: 'string|null',
  },
  'sysv-msg': {
    key: 'number',
    id: 'number',
    creator: 'object',
    bytes: 'number',
    messages: 'number',
    lspid: 'number',
    lrpid: 'number',
    stime: 'string|null',
    rtime: 'string|null',
    ctime: 'string|null',
  },
  'posix-shm': {
    path: 'string',
    size: 'number',
    allocated: 'number',
    mtime: 'string',
    ctime: 'string',
    users: 'object',
    content: 'object|null',
  },
  'posix-sem': {
    path: 'string',
    size: 'number',
    mtime: 'string',
    ctime: 'string',
    value: 'number|null',
    waiters: 'number|null',
    problem: 'string|null',
    users: 'object',
  },
  'posix-mq': {
    path: 'string',
    bytes: 'number|null',
    notifyPid: 'number|null',
    mtime: 'string',
    users: 'object',
  },
};
const BASE = { type: 'string', name: 'string', owner: 'object', mode: 'number', perms: 'string' };

describe('ls --json', () => {
  it('prints the documented schema: exactly these fields, of these types, for every object', async () => {
    ipcmk(['-M', '4096']);
    ipcmk(['-S', '1']);
    ipcmk(['-Q']);
    writeFileSync(`/dev/shm${posixName()}`, 'x');
    const sem = posixName();
    writeFileSync(`/dev/shm/sem.${sem.slice(1)}`, Buffer.alloc(32));
    const json: LsJson = await lsJson();
    expect(Object.keys(json)).toEqual(['shmkit', 'schema', 'time', 'objects', 'warnings']);
    expect(new Date(json.time).toISOString()).toBe(json.time);
    const seen = new Set<string>();
    for (const object of json.objects) {
      seen.add(object.type);
      const expected = { ...BASE, ...SCHEMA[object.type] };
      expect(Object.keys(object).sort(), object.type).toEqual(Object.keys(expected).sort());
      for (const [field, type] of Object.entries(expected)) {
        const value = (object as unknown as Record<string, unknown>)[field];
        const actual = value === null ? 'null' : typeof value;
        expect(type.split('|'), `${object.type}.${field}`).toContain(actual);
      }
      expect(Object.keys(object.owner).sort()).toEqual(['gid', 'group', 'uid', 'user']);
      if ('users' in object) {
        expect(Object.keys(object.users).sort()).toEqual(['processes', 'unchecked']);
        for (const p of object.users.processes)
          expect(Object.keys(p).sort()).toEqual(['command', 'how', 'pid']);
      }
    }
    for (const type of ['sysv-shm', 'sysv-sem', 'sysv-msg', 'posix-shm', 'posix-sem'])
      expect(seen).toContain(type);
  });
});
