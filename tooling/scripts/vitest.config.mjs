import { shmkitVitestConfig } from '@shmkit/config/vitest';

// The fixtures run real vitest and cargo processes: give them time.
export default shmkitVitestConfig({ testTimeout: 120_000 });
