import { shmkitVitestConfig } from '@shmkit/config/vitest';

// Load the built workspace packages with Node itself: vite's SSR transform
// of their generated ESM wrappers (`export const { a, b } = cjs`) yields
// undefined bindings.
export default shmkitVitestConfig({
  server: { deps: { external: [/\/packages\/[^/]+\/dist\//] } },
});
