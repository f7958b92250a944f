// How an error message shows the value it received, in Node's own words.
// The native side asks describeReceived too (the loader hands it over), so
// a value is described the same way whichever side rejected it.
import { inspect } from 'node:util';

/** At most this many characters of a string are shown; longer ones are cut to `CUT` plus '...'. */
const SHOWN = 28;
const CUT = 25;

function constructorName(value: object): string | undefined {
  const ctor = (value as { constructor?: unknown }).constructor;
  if ((typeof ctor !== 'function' && typeof ctor !== 'object') || ctor === null) return undefined;
  return 'name' in ctor ? String((ctor as { name: unknown }).name) : undefined;
}

/** util.inspect that cannot throw (a proxy trap or getter may). */
function inspectSafely(value: unknown, depth?: number): string {
  try {
    return depth === undefined ? inspect(value) : inspect(value, { depth });
  } catch {
    return typeof value === 'object' ? 'an object' : `type ${typeof value}`;
  }
}

/**
 * "Received ..." of an `ERR_INVALID_ARG_TYPE` message, as Node's validators
 * word it: `type number (1.5)`, `type string ('abc')`, `an instance of Map`,
 * `function f`, `null`. Never throws: a value whose getters or proxy traps
 * throw is described without them.
 */
export function describeReceived(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`;
    case 'number':
      return `type number (${Object.is(value, -0) ? '-0' : String(value)})`;
    case 'boolean':
      return `type boolean (${value})`;
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'string': {
      const shown = value.length > SHOWN ? `${value.slice(0, CUT)}...` : value;
      return shown.includes("'")
        ? `type string (${JSON.stringify(shown)})`
        : `type string ('${shown}')`;
    }
    case 'function':
    case 'object':
      try {
        if (typeof value === 'function') return `function ${value.name}`;
        const name = constructorName(value);
        if (name !== undefined) return `an instance of ${name}`;
      } catch {
        // A getter or proxy trap threw: fall back to inspect.
      }
      return inspectSafely(value, -1);
    default:
      return `type ${typeof value}`;
  }
}

/** Inserts `_` between thousands: 1_099_511_627_776. */
function separated(digits: string): string {
  const sign = digits.startsWith('-') ? '-' : '';
  const body = sign ? digits.slice(1) : digits;
  return sign + body.replace(/\B(?=(\d{3})+$)/g, '_');
}

/**
 * "Received ..." of an `ERR_OUT_OF_RANGE` message, as Node words it:
 * integers beyond ±2^32 with `_` between thousands, bigints with `n`,
 * anything else as `util.inspect` prints it.
 */
export function describeOutOfRange(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) > 2 ** 32) {
    return separated(String(value));
  }
  if (typeof value === 'bigint') {
    const big = value > 2n ** 32n || value < -(2n ** 32n);
    return `${big ? separated(String(value)) : String(value)}n`;
  }
  return inspectSafely(value);
}

/** "Received ..." of an `ERR_INVALID_ARG_VALUE` message: inspected, cut at 128 characters. */
export function describeInvalid(value: unknown): string {
  const shown = inspectSafely(value);
  return shown.length > 128 ? `${shown.slice(0, 128)}...` : shown;
}
