// How `ls` finds a shmkit structure at the start of a POSIX object: a
// cheap look at a few bytes for every object, then a closer read for the
// ones that match.
import type { Style } from '../io';
import type { Content } from '../model';

/** Finds one kind of shmkit structure at the start of an object, for `ls`. */
export interface Recognizer<C extends Content = Content> {
  /** The `content.kind` it reports. */
  readonly kind: C['kind'];
  /** How many bytes of the object's start {@link matches} looks at. */
  readonly magicBytes: number;
  /** Whether `head` (`magicBytes` of them) starts like this kind. */
  matches(head: Buffer): boolean;
  /**
   * The summary (`content` in `ls --json`) of an object that matched,
   * reading what else it needs through `read` (fewer bytes come back at
   * the end of the object). Must not throw on garbage or a short object.
   */
  recognize(read: (offset: number, length: number) => Buffer, objectSize: number): C;
  /** A few words for the table's INFO column. */
  describe(content: C): string;
  /** How INFO is painted: red for a corrupt structure, yellow for a doubtful one. */
  style(content: C): Style | undefined;
}
