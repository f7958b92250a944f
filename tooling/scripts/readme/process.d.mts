export interface ExecResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error?: Error;
}
export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeout?: number;
  input?: string;
}
export function exec(cmd: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
export function check(cmd: string, args: string[], options?: ExecOptions): Promise<string>;
