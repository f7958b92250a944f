import { shmkitVitestConfig } from '@shmkit/config/vitest';

// Packing and installing take a while; one file at a time.
export default shmkitVitestConfig({
  testTimeout: 300_000,
  hookTimeout: 600_000,
  fileParallelism: false,
});
