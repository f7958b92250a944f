// What a performance target is and what judging one gives: shared by the
// target lists (targets.ts and the case modules that bring their own).

export type TargetStatus =
  | 'achieved'
  | 'missed'
  | 'bound wrong'
  | 'provisional'
  | 'pending'
  | 'not measured';

export interface TargetResult {
  target: string;
  /** What was measured, in words. */
  measured: string;
  /** The figure compared to the limit, as a ratio where the target is relative. */
  ratio?: number;
  status: TargetStatus;
  detail: string;
}

export interface TargetSpec {
  target: string;
  /** Row ids; `id#name` stands for the row's `extra.name` instead of its value. */
  rows: string[];
  /**
   * The second row is a floor (or ceiling) of the first: a ratio below
   * (above) 1 proves it wrong, and the target is then not judged.
   */
  bound?: 'floor' | 'ceiling';
  /**
   * A row of the same run (in ns) that the first row can never take less
   * time than: the least any implementation does for this target, with no
   * shmkit in it. The first row beating it proves the floor wrong; the floor
   * missing the target itself means no implementation could meet it in this
   * run, and the result says so.
   */
  floor?: string;
  /** Given the rows (all measured), the figure and whether it meets the target. */
  judge(values: number[]): { ratio: number; ok: boolean; measured: string };
}
