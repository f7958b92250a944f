// One README's examples, prepared and run: JS and TS in a project outside
// the repository that installs exactly what the README's install lines
// list (from the release tarballs, with pnpm, which refuses imports of
// packages the project does not list); shell commands in the README's own
// folder of the checkout (the apps and tooling exist only there).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readReadme } from './blocks.mjs';
import { consumerProject } from './consumer.mjs';
import { exec } from './process.mjs';
import { compileTypeScript, runExample } from './run.mjs';

const EXTENSION = { js: 'mjs', cjs: 'cjs', ts: 'mts' };

/** A block's file name in the example project: README line, so errors point home. */
function fileName(block) {
  return `readme-line-${block.line}.${EXTENSION[block.kind]}`;
}

export class ReadmeExamples {
  /** @param root the repository; @param path the README, relative to it. */
  constructor(root, path) {
    this.root = root;
    this.info = readReadme(root, path);
    this.path = path;
    this.project = undefined;
    this.diagnostics = {};
    this.published = isPublished(join(root, dirname(path)));
  }

  get blocks() {
    return this.info.blocks;
  }

  /** Problems found without running anything (install lines, flags). */
  get problems() {
    return this.info.problems;
  }

  /** Installs the project and compiles the TypeScript examples, once. */
  async prepare(tarballs) {
    if (this.project !== undefined) return;
    const code = this.blocks.filter((b) => b.kind !== 'sh');
    // A published package's commands run where its users run them.
    const commands = this.published && this.blocks.some((b) => b.kind === 'sh' && !b.install);
    if (code.length === 0 && !commands) {
      this.project = null;
      return;
    }
    this.project = await consumerProject(this.info.installs, tarballs, 'pnpm');
    for (const block of code) writeFileSync(join(this.project, fileName(block)), block.code);
    const ts = code.filter((b) => b.kind === 'ts').map(fileName);
    if (ts.length > 0) this.diagnostics = await compileTypeScript(this.project, ts);
  }

  /** Removes the example project. */
  dispose() {
    if (this.project) rmSync(this.project, { recursive: true, force: true });
    this.project = undefined;
  }

  /** Runs one block; `{ ok, problems, output }`. */
  async run(block) {
    const where = `${this.path}:${block.line}`;
    if (block.kind === 'sh') return this.#shell(block, where);
    const file = fileName(block);
    if (block.kind === 'ts') {
      // tsc says `readme-line-40.mts(3,7): error ...`; the reader wants README.md:43:7.
      const errors = [
        ...(this.diagnostics[file] ?? []),
        ...(this.diagnostics['(tsconfig)'] ?? []),
      ].map((d) =>
        d.replace(
          /^readme-line-\d+\.mts\((\d+),(\d+)\)/,
          (_, row, col) => `${this.path}:${block.line + Number(row)}:${col}`,
        ),
      );
      if (errors.length > 0)
        return failed(`${where}: does not compile under the strict settings`, errors);
      if (!block.run) return { ok: true, problems: [], output: '' };
      return this.#node(join('out', file.replace(/\.mts$/, '.mjs')), block, where);
    }
    if (!block.run) {
      const check = await exec(process.execPath, ['--check', file], { cwd: this.project });
      return check.status === 0
        ? { ok: true, problems: [], output: '' }
        : failed(`${where}: syntax error`, [check.stderr]);
    }
    return this.#node(file, block, where);
  }

  async #node(file, block, where) {
    const result = await runExample(process.execPath, [file], {
      cwd: this.project,
      code: block.code,
    });
    return result.ok ? result : failed(`${where}: ${result.problems.join('; ')}`, [result.output]);
  }

  async #shell(block, where) {
    if (block.install) return { ok: true, problems: [], output: '' };
    // A published package's README speaks to users who installed it: its
    // commands run in the outside project, with its bins on PATH. The
    // root, the apps and the tools exist only in the checkout.
    const cwd = this.published ? this.project : join(this.root, dirname(this.path));
    const env = this.published
      ? { PATH: `${join(this.project, 'node_modules/.bin')}:${process.env.PATH}` }
      : {};
    if (!block.run) {
      const check = await exec('bash', ['-n', '-c', block.code]);
      return check.status === 0
        ? { ok: true, problems: [], output: '' }
        : failed(`${where}: syntax error`, [check.stderr]);
    }
    const result = await runExample('bash', ['-euo', 'pipefail', '-c', block.code], {
      cwd,
      env,
      code: block.code,
    });
    return result.ok ? result : failed(`${where}: ${result.problems.join('; ')}`, [result.output]);
  }
}

/** True for a folder whose package.json is a package that gets published (not private). */
function isPublished(dir) {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  return pkg.private !== true && typeof pkg.name === 'string';
}

function failed(summary, details) {
  const output = details.join('\n').trim();
  return {
    ok: false,
    problems: [summary],
    output,
    message: output ? `${summary}\n${output}` : summary,
  };
}
