import { shmkitVitestConfig } from '@shmkit/config/vitest';

// @shmkit/core is a workspace link, which vite would inline and transform;
// loading its built CommonJS through Node keeps one instance of the addon
// and of the Mapping class for the tests and the package under test.
export default shmkitVitestConfig({ server: { deps: { external: [/\/packages\/core\/dist\//] } } });
