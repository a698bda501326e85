// Values of the CLI's list options, checked in the CLI's terms: the message names the flag and
// the item the user typed, not an internal node or option.
import { WasmeshError } from '../core/WasmeshError.js';

/** Items of a comma-separated option (none empty). */
export function list(text: string, flag: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new WasmeshError('INVALID_ARGUMENT', `--${flag} must be a comma-separated list, got ${JSON.stringify(text)}`);
  return items;
}

/** A comma-separated list of weights, each a finite number > 0. */
export function weightList(text: string, flag = 'weights'): number[] {
  return list(text, flag).map((item) => {
    const w = Number(item);
    if (!Number.isFinite(w) || w <= 0) throw new WasmeshError('INVALID_ARGUMENT', `--${flag}: ${JSON.stringify(item)} is not a number > 0`);
    return w;
  });
}

/** A comma-separated list of distinct names. */
export function nameList(text: string, flag = 'names'): string[] {
  const names = list(text, flag);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new WasmeshError('INVALID_ARGUMENT', `--${flag}: ${JSON.stringify(twice)} appears twice; names must be distinct`);
  return names;
}
