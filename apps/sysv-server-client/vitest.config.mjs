import { shmkitVitestConfig } from '@shmkit/config/vitest';

// Workspace packages are links, so vite would transform their dist itself
// and lose re-exported CJS bindings; let Node load them as users get them.
export default shmkitVitestConfig({
  server: { deps: { external: [/\/packages\/[^/]+\/dist\//] } },
});
