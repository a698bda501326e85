// Validation of option objects, in one place for every public class (piscina's style).
import { show, WasmeshError, type WasmeshErrorCode } from './WasmeshError.js';

/** Which engine runs the hot path: the Wasm core or its pure-TypeScript twin. */
export type EngineName = 'wasm' | 'ts';

/** Returns null when the value is allowed, else what is allowed ("an integer from 1 to 10000"). */
export type Check = (value: unknown) => string | null;

/** A Check for an integer from min to max. */
export function integerIn(min: number, max: number): Check {
  return (v) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `an integer from ${min} to ${max}`);
}

/**
 * Checks an options object: a plain object whose keys are all known and whose present values
 * pass their checks. The message names the field, what is allowed and what was given.
 */
export function checkOptions<T extends object>(
  owner: string,
  options: unknown,
  checks: { [K in keyof T]-?: Check },
  code: WasmeshErrorCode = 'INVALID_OPTION',
): T {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new WasmeshError(code, `${owner} options must be an object, got ${show(options)}`);
  }
  const allowed = Object.keys(checks);
  for (const [key, value] of Object.entries(options)) {
    if (!allowed.includes(key)) {
      throw new WasmeshError(code, `${owner} options.${key} is not an option; allowed: ${allowed.join(', ')}`);
    }
    if (value === undefined) continue;
    const wanted = (checks as Record<string, Check>)[key]!(value);
    if (wanted !== null) throw new WasmeshError(code, `${owner} options.${key} must be ${wanted}, got ${show(value)}`);
  }
  return options as T;
}

/** The fields of `o` that are not undefined, for spreading over defaults. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Throws INVALID_ARGUMENT unless `cost` is a finite number > 0. */
export function checkCost(cost: unknown, what?: string): asserts cost is number {
  // The message made elsewhere: a route runs this check three times, inlined, and V8 inlines up
  // to a budget of bytecode per function it compiles.
  if (typeof cost !== 'number' || !(cost > 0 && cost < Infinity)) throw badCost(cost, what ?? 'cost');
}

function badCost(cost: unknown, what: string): WasmeshError {
  return new WasmeshError('INVALID_ARGUMENT', `${what} must be a finite number > 0, got ${show(cost)}`);
}
