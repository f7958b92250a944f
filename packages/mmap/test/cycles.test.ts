import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { mapFile, pageSize } from '../src/index';
import { tempDir } from './helpers';

const tmp = tempDir();

it('5,000 mapFile/protect/close cycles leak no descriptors and no mappings', () => {
  const path = tmp.file(Buffer.alloc(pageSize() * 4, 1));
  const fds = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 5000; i++) {
    const m = mapFile(path, { offset: pageSize() * (i % 4) });
    m.uint8Array()[0] = i & 0xff;
    if (i % 3 === 0) m.protect('read');
    m.close();
  }
  expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(fds);
  expect(readFileSync('/proc/self/maps', 'utf8')).not.toContain(path);
});
