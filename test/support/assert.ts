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

/** Asserts that the promise rejects with a WasmeshError with this code and a matching message. */
export async function rejectsCode(promise: Promise<unknown>, code: WasmeshErrorCode, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, WasmeshError);
    assert.is((error as WasmeshError).code, code);
    assert.match((error as WasmeshError).message, message);
    return;
  }
  assert.unreachable(`expected a rejection with WasmeshError ${code}`);
}
