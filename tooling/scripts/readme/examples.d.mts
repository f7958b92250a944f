import type { ExampleBlock, ReadmeInfo } from './blocks.mjs';
export interface BlockResult {
  ok: boolean;
  problems: string[];
  output: string;
  /** The summary and the output, for a failure. */
  message?: string;
}
export class ReadmeExamples {
  constructor(root: string, path: string);
  readonly root: string;
  readonly path: string;
  readonly info: ReadmeInfo;
  /** True when the README belongs to a published package (its commands run in the outside project). */
  readonly published: boolean;
  readonly blocks: ExampleBlock[];
  readonly problems: string[];
  prepare(tarballs: Record<string, string>): Promise<void>;
  run(block: ExampleBlock): Promise<BlockResult>;
  dispose(): void;
}
