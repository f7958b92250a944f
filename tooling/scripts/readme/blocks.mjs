// README code blocks: which ones are examples, what they import, and what
// their install lines promise. The convention is documented in
// tooling/scripts/README.md; this file is its one implementation.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromMarkdown } from 'mdast-util-from-markdown';

/** Info-string languages that are examples, and how each one runs. */
const KINDS = {
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  cjs: 'cjs',
  ts: 'ts',
  typescript: 'ts',
  mts: 'ts',
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
};

/** The only flag: shown to readers, checked (syntax, types, install lines), never run. */
export const NO_RUN = 'norun';

/** Folders that never hold a README of ours. */
const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  'dist',
  'target',
  'npm',
  'release',
  'coverage',
  '.turbo',
  'bench-results',
  'api',
]);

/** Every README.md under `root` (the repository), sorted, as paths relative to it. */
export function findReadmes(root) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(path);
      } else if (entry.isFile() && entry.name === 'README.md') {
        found.push(path);
      }
    }
  };
  walk('');
  // changesets' own README explains the tool, not shmkit.
  return found.filter((p) => p !== '.changeset/README.md').sort();
}

/**
 * The fenced code blocks of a Markdown text that are examples: `{ kind,
 * lang, flags, code, line }`, where kind is 'js', 'cjs', 'ts' or 'sh' and
 * line is the 1-based line of the opening fence. Blocks in other languages
 * (c, text, none) are documentation and are left out.
 */
export function exampleBlocks(markdown) {
  const blocks = [];
  const visit = (node) => {
    if (node.type === 'code') {
      const lang = (node.lang ?? '').toLowerCase();
      const kind = KINDS[lang];
      if (kind) {
        const flags = (node.meta ?? '').split(/\s+/).filter(Boolean);
        const unknown = flags.filter((f) => f !== NO_RUN);
        if (unknown.length > 0) {
          throw new Error(
            `line ${node.position.start.line}: unknown code block flag ${unknown.join(', ')} (the only flag is '${NO_RUN}')`,
          );
        }
        blocks.push({
          kind,
          lang,
          run: !flags.includes(NO_RUN),
          code: node.value.endsWith('\n') ? node.value : `${node.value}\n`,
          line: node.position.start.line,
        });
      }
    }
    for (const child of node.children ?? []) visit(child);
  };
  visit(fromMarkdown(markdown));
  return blocks;
}

const INSTALL = /^(?:npm\s+(?:i|install|add)|pnpm\s+add|yarn\s+add)\s+(.*)$/;

/** The command lines of a shell block: comments and blank lines dropped, `\` continuations joined. */
export function shellLines(code) {
  return code
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

/**
 * The packages a shell block installs, or undefined when it is not an
 * install block. A block that mixes install lines with other commands is
 * an error: readers copy install lines on their own.
 */
export function installedPackages(code) {
  const lines = shellLines(code);
  const installs = lines.map((l) => INSTALL.exec(l));
  if (!installs.some(Boolean)) return undefined;
  if (!installs.every(Boolean)) {
    throw new Error(
      'an install line shares its block with other commands: give it a block of its own',
    );
  }
  return installs.flatMap((m) =>
    m[1]
      .split(/\s+/)
      .filter((word) => word && !word.startsWith('-'))
      .map((spec) => spec.replace(/(.)@[^/]*$/, '$1')),
  );
}

/** The bare package names a JS/TS example imports (node: builtins left out). */
export function importedPackages(code) {
  const names = new Set();
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const [, spec] of code.matchAll(pattern)) {
      if (spec.startsWith('node:') || spec.startsWith('.') || spec.startsWith('/')) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return [...names].sort();
}

/**
 * Everything the runner needs to know about one README: its examples, the
 * packages its install lines list, and the problems found without running
 * anything (imports that no install line covers, bad flags).
 */
export function readReadme(root, path) {
  const markdown = readFileSync(join(root, path), 'utf8');
  const problems = [];
  let blocks = [];
  try {
    blocks = exampleBlocks(markdown);
  } catch (error) {
    problems.push(`${path}: ${error.message}`);
  }
  const installs = new Set();
  for (const block of blocks) {
    if (block.kind !== 'sh') continue;
    try {
      const packages = installedPackages(block.code);
      if (packages) {
        block.install = packages;
        for (const p of packages) installs.add(p);
      }
    } catch (error) {
      problems.push(`${path}:${block.line}: ${error.message}`);
    }
  }
  for (const block of blocks) {
    if (block.kind === 'sh') continue;
    const missing = importedPackages(block.code).filter((p) => !installs.has(p));
    if (missing.length > 0) {
      problems.push(
        `${path}:${block.line}: imports ${missing.join(', ')}, which no install line of this README lists`,
      );
    }
  }
  return { path, blocks, installs: [...installs].sort(), problems };
}
