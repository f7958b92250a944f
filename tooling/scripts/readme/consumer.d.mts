export function sh(cmd: string, args: string[], cwd: string, env?: Record<string, string>): string;
export function tarballsIn(dir: string): Record<string, string>;
export function consumerProject(
  packages: string[],
  tarballs: Record<string, string>,
  manager: 'npm' | 'pnpm',
  options?: { type?: 'module' | 'commonjs' },
): Promise<string>;
