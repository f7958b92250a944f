import { shmkitVitestConfig } from '@shmkit/config/vitest';

// Load @shmkit/core's built files with Node itself rather than vite's
// transform, so its CommonJS build and ESM face keep one shared instance.
export default shmkitVitestConfig({
  server: { deps: { external: [/\/packages\/core\/dist\//, /@shmkit\/core/] } },
});
