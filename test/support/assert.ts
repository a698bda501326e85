import * as assert from 'uvu/assert';
import { WasmeshError, type WasmeshErrorCode } from '../../src/index.js';

/** Asserts that fn throws a WasmeshError with this code and a message matching `message`. */
export function throwsCode(fn: () => unknown, code: WasmeshErrorCode, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, WasmeshError);
    assert.is((error as WasmeshError).code, code);
    assert.match((error as WasmeshError).message, message);
    return;
  }
  assert.unreachable(`expected WasmeshError ${code}`);
}
