// Real processes on both ends: node children and C programs compiled here.
import { readFileSync } from 'node:fs';
import { compileC, run, runNode } from '@shmkit/testing';
import { describe, expect, it } from 'vitest';
import { mapFile, pageSize } from '../src/index';
import { pkgDir, tempDir } from './helpers';

const tmp = tempDir();
const page = pageSize();

// Maps argv[1] shared, prints the string at offset 0, writes argv[2] at
// offset 128 and msyncs.
const C_PEER = `
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) { perror("open"); return 1; }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < 256) { fprintf(stderr, "short file\\n"); return 1; }
  char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  close(fd);
  printf("%.*s\\n", 127, p);
  strcpy(p + 128, argv[2]);
  if (msync(p, (size_t)st.st_size, MS_SYNC) != 0) { perror("msync"); return 1; }
  munmap(p, (size_t)st.st_size);
  return 0;
}
`;

describe('cross-process visibility', () => {
  it('a C program reads what we wrote and we see what it writes, live', async () => {
    const bin = compileC(C_PEER);
    const path = tmp.path();
    using m = mapFile(path, { size: page });
    m.uint8Array().set(Buffer.from('hello from node\0'));
    const result = await run(bin, [path, 'hello from C']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('hello from node');
    // Our mapping shares the page cache with the C program: no re-read.
    expect(m.read(128, 12).toString()).toBe('hello from C');
  });

  it('a node child sees MAP_SHARED writes; its MAP_PRIVATE writes never reach us or the file', async () => {
    const path = tmp.path();
    using m = mapFile(path, { size: page * 2 });
    m.uint8Array().set(Buffer.from('ping'), page);
    const code = `
      import { mapFile, pageSize } from '@shmkit/mmap';
      const [path] = process.argv.slice(1);
      const page = pageSize();
      const shared = mapFile(path, { offset: page });
      const priv = mapFile(path, { shared: false });
      console.log(Buffer.from(shared.buffer, 0, 4).toString());
      new Uint8Array(shared.buffer).set(Buffer.from('pong'), 8);
      shared.sync();
      new Uint8Array(priv.buffer).set(Buffer.from('private'), 0);
      priv.sync();
      shared.close();
      priv.close();
    `;
    const result = await runNode(code, { cwd: pkgDir, args: [path] });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('ping');
    expect(m.read(page + 8, 4).toString()).toBe('pong');
    expect(m.read(0, 7).every((b) => b === 0)).toBe(true);
    expect(
      readFileSync(path)
        .subarray(0, 7)
        .every((b) => b === 0),
    ).toBe(true);
  });

  it('Atomics on a shared file mapping add up exactly across processes', async () => {
    const path = tmp.path();
    using m = mapFile(path, { size: page });
    const counter = m.int32Array(0, 1);
    const code = `
      import { mapFile } from '@shmkit/mmap';
      const m = mapFile(process.argv[1]);
      const counter = m.int32Array(0, 1);
      for (let i = 0; i < 20000; i++) Atomics.add(counter, 0, 1);
      m.close();
    `;
    const children = [0, 1, 2].map(() => runNode(code, { cwd: pkgDir, args: [path] }));
    for (let i = 0; i < 20000; i++) Atomics.add(counter, 0, 1);
    const results = await Promise.all(children);
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(Atomics.load(counter, 0)).toBe(80000);
    expect(readFileSync(path).readInt32LE(0)).toBe(80000);
  });
});
