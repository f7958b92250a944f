// The decoders `inspect --as` chooses from, and the recognisers `ls` runs
// over the start of every POSIX object it may read.
import type { ChannelContent } from '../model';
import { channelDecoder } from './channel';
import { channelRecognizer } from './channel-summary';
import { eventDecoder } from './event';
import { mutexDecoder } from './mutex';
import { pthreadMutexDecoder } from './pthread-mutex';
import type { Recognizer } from './recognizer';
import { semaphoreDecoder } from './semaphore';
import type { Decoder, ViewName } from './view';

export type { Recognizer } from './recognizer';
export type { Decoder, DecodedView, ViewName } from './view';
export { VIEW_NAMES } from './view';

// A record, so that a name in VIEW_NAMES without a decoder does not compile.
const decoders: Readonly<Record<ViewName, Decoder>> = {
  mutex: mutexDecoder,
  event: eventDecoder,
  semaphore: semaphoreDecoder,
  'pthread-mutex': pthreadMutexDecoder,
  channel: channelDecoder,
};

/** What `ls` looks for at the start of POSIX shared memory objects. */
export const recognizers: ReadonlyArray<Recognizer<ChannelContent>> = [channelRecognizer];

/** The decoder for `--as name`. */
export function decoderFor(name: ViewName): Decoder {
  return decoders[name];
}

/** The INFO words for a recognised `content`. */
export function describeContent(content: ChannelContent): string {
  return recognizers.find((r) => r.kind === content.kind)?.describe(content) ?? content.kind;
}

/** The same, always naming the kind: `channel: spsc 25% of 4.0K, tx 1, rx 1`. */
export function nameContent(content: ChannelContent): string {
  const words = describeContent(content);
  return words.startsWith(content.kind) ? words : `${content.kind}: ${words}`;
}
