export const STRICT_TS_OPTIONS: Record<string, unknown>;
export function isolationPrefix(): string[] | null;
export interface ExampleRun {
  ok: boolean;
  output: string;
  problems: string[];
}
export function runExample(
  command: string,
  args: string[],
  options: { cwd: string; code: string; env?: Record<string, string>; timeout?: number },
): Promise<ExampleRun>;
export function compileTypeScript(dir: string, files: string[]): Promise<Record<string, string[]>>;
