// Compiles the bench's C sources with the system cc, cached by source hash
// in the temp dir so repeated runs compile once.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const cacheDir = join(tmpdir(), `shmkit-bench-cc-${process.getuid?.() ?? 'u'}`);

function build(source: string, suffix: string, args: string[]): string {
  mkdirSync(cacheDir, { recursive: true });
  const hash = createHash('sha256')
    .update(source)
    .update(args.join(' '))
    .digest('hex')
    .slice(0, 16);
  const out = join(cacheDir, `${hash}${suffix}`);
  if (existsSync(out)) return out;
  const src = join(cacheDir, `${hash}.c`);
  writeFileSync(src, source);
  const tmp = `${out}.${process.pid}.tmp`;
  const result = spawnSync('cc', ['-O2', '-Wall', ...args, '-o', tmp, src], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `cc failed (${result.error?.message ?? `status ${String(result.status)}`}):\n${result.stderr}`,
    );
  }
  renameSync(tmp, out);
  return out;
}

/** Compiles a C program; returns the executable's path. */
export function compileProgram(source: string, libs: string[] = []): string {
  return build(source, '', libs);
}

/** Compiles a Node-API addon against the installed Node headers; returns the .node path. */
export function compileAddon(source: string): string {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
  ];
  const include = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (include === undefined) throw new Error(`node_api.h not found in ${candidates.join(' or ')}`);
  return build(source, '.node', ['-shared', '-fPIC', `-I${include}`]);
}
