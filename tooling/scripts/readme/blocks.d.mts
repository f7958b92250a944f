export const NO_RUN: 'norun';
export interface ExampleBlock {
  kind: 'js' | 'cjs' | 'ts' | 'sh';
  lang: string;
  run: boolean;
  code: string;
  line: number;
  /** For install blocks: the packages they install. */
  install?: string[];
}
export interface ReadmeInfo {
  path: string;
  blocks: ExampleBlock[];
  installs: string[];
  problems: string[];
}
export function findReadmes(root: string): string[];
export function exampleBlocks(markdown: string): ExampleBlock[];
export function shellLines(code: string): string[];
export function installedPackages(code: string): string[] | undefined;
export function importedPackages(code: string): string[];
export function readReadme(root: string, path: string): ReadmeInfo;
