import { shmkitVitestConfig } from '@shmkit/config/vitest';

export default shmkitVitestConfig();
