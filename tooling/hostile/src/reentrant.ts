// Re-entrant arguments: option objects whose getters (or Proxy traps) do
// the most harmful thing they can to the object the call works on, then
// hand back a valid value so the call goes on. Afterwards the attempt
// touches every buffer it holds: a call that acted on freed memory, or left
// a buffer over it, crashes right there.
import type { Attempt } from './harness';

/** One call that takes an options object (or a value JS could coerce). */
export interface Site {
  name: string;
  /** Runs first; declares what `call`, `harms` and `after` use. */
  setup: string;
  /** The call, with OPTS where the hostile options object goes. */
  call: string;
  /** Option keys the call reads, each with a valid value to return. */
  keys: Record<string, string>;
  /** What a getter may do to the call's objects, by name. */
  harms: Record<string, string>;
  /** Touches everything after the call (default: nothing). */
  after?: string;
  /** Releases what setup made; errors here are ignored. */
  cleanup?: string;
}

const USER_ERROR = `Object.assign(new Error('thrown by a getter'), { code: 'USER_THROWN' })`;

/** The hostile shapes an options object can take, given the harm to do. */
function shapes(site: Site, harm: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(site.keys)) {
    out[`getter ${key}`] = `{ get ${JSON.stringify(key)}() { ${harm}; return ${value}; } }`;
    out[`throwing getter ${key}`] =
      `{ get ${JSON.stringify(key)}() { ${harm}; throw ${USER_ERROR}; } }`;
  }
  const valid = `{ ${Object.entries(site.keys)
    .map(([k, v]) => `${JSON.stringify(k)}: ${v}`)
    .join(', ')} }`;
  out['Proxy get trap'] =
    `(() => { const valid = ${valid}; return new Proxy(valid, { get(t, k, r) { ${harm}; return Reflect.get(t, k, r); } }); })()`;
  out['Proxy has/ownKeys/descriptor traps'] =
    `(() => { const valid = ${valid}; return new Proxy(valid, {
    has(t, k) { ${harm}; return Reflect.has(t, k); },
    ownKeys(t) { ${harm}; return Reflect.ownKeys(t); },
    getOwnPropertyDescriptor(t, k) { ${harm}; return Reflect.getOwnPropertyDescriptor(t, k); },
  }); })()`;
  out['valueOf/toString/toPrimitive values'] = `{ ${Object.keys(site.keys)
    .map(
      (k) =>
        `${JSON.stringify(k)}: { valueOf() { ${harm}; return 0; }, toString() { ${harm}; return '0'; }, [Symbol.toPrimitive]() { ${harm}; return 0; } }`,
    )
    .join(', ')} }`;
  return out;
}

/** Every harm in every shape, as attempts. */
export function reentrantAttempts(site: Site): Attempt[] {
  const attempts: Attempt[] = [];
  for (const [harmName, rawHarm] of Object.entries(site.harms)) {
    // A getter may run more than once; a harm that cannot be repeated (the
    // FIFO is there already) must not turn into the call's error.
    const harm = `try { ${rawHarm}; } catch {}`;
    for (const [shapeName, options] of Object.entries(shapes(site, harm))) {
      attempts.push({
        name: `${site.name}: ${shapeName} that ${harmName}`,
        run: `${site.setup}
try {
  await (${site.call.replace('OPTS', options)});
} finally {
  ${site.after ?? ''}
  try { ${site.cleanup ?? ''} } catch {}
}`,
      });
    }
  }
  return attempts;
}
