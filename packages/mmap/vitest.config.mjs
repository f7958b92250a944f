import { shmkitVitestConfig } from '@shmkit/config/vitest';

// Load @shmkit/core's built CommonJS through Node itself: vite-node would
// otherwise transform the workspace package's dist as source and lose its
// exports.
export default shmkitVitestConfig({ server: { deps: { external: [/\/packages\/core\/dist\//] } } });
