import { shmkitVitestConfig } from '@shmkit/config/vitest';

// Every attempt runs in its own child processes; the files themselves only
// orchestrate, so they may take their time on a loaded machine.
export default shmkitVitestConfig({ testTimeout: 240_000 });
