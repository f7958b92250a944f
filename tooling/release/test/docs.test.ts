// `pnpm docs:api`: the API reference TypeDoc builds from every package.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '@shmkit/scripts/readme/process.mjs';
import { repoRoot } from './helpers';

describe('the API reference', () => {
  const out = mkdtempSync(join(tmpdir(), 'shmkit-docs-'));
  let log = '';
  let status: number | null = null;
  // The global setup has built every package (the release dry run does).
  beforeAll(async () => {
    const typedoc = join(repoRoot, 'node_modules/typedoc/bin/typedoc');
    const r = await exec(process.execPath, [typedoc, '--out', out, '--treatWarningsAsErrors'], {
      cwd: repoRoot,
    });
    log = `${r.stdout}${r.stderr}`;
    status = r.status;
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('builds without a warning', () => {
    expect(log).not.toMatch(/\[warning\]|\[error\]/);
    expect(status).toBe(0);
  });

  it('has one page for Mapping, however many packages re-export it', () => {
    const pages = readdirSync(join(out, 'classes')).filter((f) => /\.Mapping\.html$/.test(f));
    expect(pages).toEqual(['_shmkit_core.Mapping.html']);
  });

  it('renders the linked READMEs and docs/benchmarks.md as pages, never as raw media/*.md', () => {
    expect(readdirSync(join(out, 'media')).filter((f) => f.endsWith('.md'))).toEqual([]);
    for (const page of ['apps_mmap-file_README.html', 'docs_benchmarks.html'])
      expect(existsSync(join(out, 'documents', page))).toBe(true);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    expect(index).not.toMatch(/href="[^"]*media\/[^"]*\.md/);
  });
});
