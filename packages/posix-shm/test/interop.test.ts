// No hidden header: bytes written by C or by Python's multiprocessing.shared_memory
// are the bytes we read, at the same offsets, and the reverse.
import { describe, expect, it } from 'vitest';
import { PosixShm } from '../src/index';
import { compileC, run } from '@shmkit/testing';
import { name } from './helpers';

const ioName = (): string => name('shmkit-pshm-io');

const C_WRITER = String.raw`
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
  size_t size = 8192;
  int fd = shm_open(argv[1], O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) { perror("shm_open"); return 1; }
  if (ftruncate(fd, size) != 0) { perror("ftruncate"); return 1; }
  unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  strcpy((char *)p, "written by C");
  ((int32_t *)p)[1024] = 123456789; /* byte offset 4096 */
  p[size - 1] = 0xAB;
  munmap(p, size);
  close(fd);
  return 0;
}
`;

const C_READER = String.raw`
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_RDONLY, 0);
  if (fd < 0) { perror("shm_open"); return 1; }
  struct stat st;
  if (fstat(fd, &st) != 0) { perror("fstat"); return 1; }
  unsigned char *p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  printf("%ld %s %d %u\n", (long)st.st_size, (const char *)p, ((const int32_t *)p)[1024], p[st.st_size - 1]);
  return 0;
}
`;

describe('C interop', () => {
  it('reads what a C program wrote', async () => {
    const n = ioName();
    const r = await run(compileC(C_WRITER, ['-lrt']), [n]);
    expect(r.stderr).toBe('');
    using shm = PosixShm.open(n, { readOnly: true });
    expect(shm.size).toBe(8192);
    expect(shm.stat().mode).toBe(0o600);
    using map = shm.map();
    expect(map.read(0, 12).toString()).toBe('written by C');
    expect(map.int32Array()[1024]).toBe(123456789);
    expect(map.uint8Array()[8191]).toBe(0xab);
  });

  it('a C program reads what we wrote', async () => {
    const n = ioName();
    using shm = PosixShm.create(n, { size: 5000, exclusive: true });
    using map = shm.map();
    map.uint8Array().set(Buffer.from('written by node\0'));
    map.int32Array()[1024] = -42;
    map.uint8Array()[4999] = 200;
    const r = await run(compileC(C_READER, ['-lrt']), [n]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('5000 written by node -42 200\n');
  });
});

// Python 3.11 has no SharedMemory(track=False): unregister from the resource
// tracker so Python does not unlink (or warn about) an object it did not create.
const PY_PRELUDE = `
import sys
from multiprocessing import shared_memory, resource_tracker
def untrack(shm):
    resource_tracker.unregister(shm._name, 'shared_memory')
`;

describe('Python multiprocessing.shared_memory interop', () => {
  it('reads what Python wrote', async () => {
    const n = ioName();
    const py = `${PY_PRELUDE}
shm = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=3000)
untrack(shm)
shm.buf[:14] = b'hello from py!'
shm.buf[2999] = 77
shm.close()
`;
    const r = await run('python3', ['-c', py, n.slice(1)]);
    expect(r.stderr).toBe('');
    using shm = PosixShm.open(n);
    expect(shm.size).toBe(3000);
    using map = shm.map();
    expect(map.read(0, 14).toString()).toBe('hello from py!');
    expect(map.uint8Array()[2999]).toBe(77);
  });

  it('Python reads what we wrote, and its writes come back', async () => {
    const n = ioName();
    using shm = PosixShm.create(n, { size: 4096, exclusive: true });
    using map = shm.map();
    map.uint8Array().set(Buffer.from('node says hi'));
    const py = `${PY_PRELUDE}
shm = shared_memory.SharedMemory(name=sys.argv[1])
untrack(shm)
print(shm.size, bytes(shm.buf[:12]).decode())
shm.buf[100] = 9
shm.close()
`;
    const r = await run('python3', ['-c', py, n]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('4096 node says hi\n');
    expect(map.uint8Array()[100]).toBe(9);
  });
});
