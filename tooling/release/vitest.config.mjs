import { fileURLToPath } from 'node:url';
import { shmkitVitestConfig } from '@shmkit/config/vitest';

const base = shmkitVitestConfig();

// Packing and installing take a while; one file at a time, and the tarballs
// are packed once for all of them (test/global-setup.ts).
export default shmkitVitestConfig({
  testTimeout: 300_000,
  hookTimeout: 600_000,
  fileParallelism: false,
  globalSetup: [
    ...base.test.globalSetup,
    fileURLToPath(new URL('./test/global-setup.ts', import.meta.url)),
  ],
});
