import { shmkitVitestConfig } from '@shmkit/config/vitest';

// @shmkit/core is a workspace link, so vite would transform its dist itself,
// and its CJS interop loses re-exported bindings (`export *` getters). Let
// Node load it, exactly as users get it.
export default shmkitVitestConfig({ server: { deps: { external: [/\/packages\/core\/dist\//] } } });
