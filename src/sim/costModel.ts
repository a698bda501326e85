// How long one iteration of an inference engine takes, and how much KV cache it has, from the
// accelerator catalog and a model's size: a roofline model, so that any device of the catalog can
// be simulated without measurements of its own (Williams et al., "Roofline", CACM 2009; applied to
// LLM inference by Yuan et al., "LLM Inference Unveiled: Survey and Roofline Model Insights",
// arXiv:2402.16363).
//
// One iteration of continuous batching (vLLM, SGLang) runs every running sequence one step:
//   time = alpha + beta * batchedTokens + gamma * contextTokens
// - alpha: reading the weights once (decode is memory-bound: weight bytes / bandwidth) plus a
//   fixed scheduling overhead;
// - beta: the compute of one new token (2 FLOP per parameter) at the device's dense BF16 rate
//   times a utilization (MFU) — prefill tokens and decode tokens alike;
// - gamma: attention reads every cached token of every running sequence (KV bytes / bandwidth).
// Worked example, Llama-3.1-8B on one A100 80GB (312 TFLOPS, 2,039 GB/s): alpha = 16.1 GB /
// (2,039 GB/s x 0.8) + 3 ms = 12.8 ms; beta = 16.1 GFLOP / (312 TFLOPS x 0.5) = 0.10 ms a token, so a
// 2,048-token prefill takes about 0.22 s; gamma = 128 KiB / (2,039 GB/s x 0.8) = 80 ns a context
// token. What it leaves out: the quadratic part of attention in long prefills, kernel shape effects,
// tensor-parallel communication, CPU-side stalls. Tests pin these numbers (test/sim/costModel.test.ts).
import { kAcceleratorCatalog } from '../mesh/catalog.js';

/** A served model: what its weights and KV cache take. */
export interface ModelSpec {
  readonly params: number;
  /** Bytes of weights (BF16: 2 a parameter). */
  readonly weightBytes: number;
  /** KV cache bytes per token: 2 (K and V) x layers x KV heads x head size x 2 bytes. */
  readonly kvBytesPerToken: number;
  readonly source: string;
}

export const kModels: Readonly<Record<string, ModelSpec>> = Object.freeze({
  'llama-3.1-8b': { params: 8.03e9, weightBytes: 16.06e9, kvBytesPerToken: 2 * 32 * 8 * 128 * 2, source: 'Llama 3.1 8B config: 32 layers, 8 KV heads of 128, 8.03 B parameters, BF16' },
  'llama-3.1-70b': { params: 70.6e9, weightBytes: 141.2e9, kvBytesPerToken: 2 * 80 * 8 * 128 * 2, source: 'Llama 3.1 70B config: 80 layers, 8 KV heads of 128, 70.6 B parameters, BF16' },
});

/** Efficiencies of the roofline: what share of peak compute and bandwidth an engine reaches. */
export const kDefaultEfficiency = Object.freeze({ mfu: 0.5, bandwidth: 0.8, overheadS: 0.003, memoryUtilization: 0.9 });

/** The iteration cost coefficients of one engine, seconds. */
export interface EngineSpeed {
  readonly alphaS: number;
  readonly betaS: number;
  readonly gammaS: number;
}

/** An engine's device: a catalog type, how many (tensor parallel, taken as ideal), and host memory for devices without their own. */
export interface DeviceSpec {
  readonly accelerator: string;
  readonly count?: number;
  /** Memory for weights and KV cache, GiB per device; default the catalog's. */
  readonly memoryGiB?: number;
}

function specOf(device: DeviceSpec) {
  const spec = kAcceleratorCatalog[device.accelerator];
  if (!spec || spec.bandwidthGBps === undefined) throw new Error(`no speed for accelerator ${JSON.stringify(device.accelerator)}`);
  return spec;
}

/** The iteration cost of `model` on `device`, by the roofline above. */
export function engineSpeed(device: DeviceSpec, model: ModelSpec, efficiency = kDefaultEfficiency): EngineSpeed {
  const spec = specOf(device);
  const n = device.count ?? 1;
  const bandwidth = spec.bandwidthGBps! * 1e9 * n * efficiency.bandwidth;
  const flops = spec.capacity * 1e12 * n * efficiency.mfu;
  return { alphaS: model.weightBytes / bandwidth + efficiency.overheadS, betaS: (2 * model.params) / flops, gammaS: model.kvBytesPerToken / bandwidth };
}

/** Tokens of KV cache an engine holds: its memory (times the engine's utilization) less the weights. */
export function kvCapacityTokens(device: DeviceSpec, model: ModelSpec, efficiency = kDefaultEfficiency): number {
  const n = device.count ?? 1;
  const memory = (device.memoryGiB ?? specOf(device).memoryGiB) * 2 ** 30 * n * efficiency.memoryUtilization;
  return Math.max(0, Math.floor((memory - model.weightBytes) / model.kvBytesPerToken));
}
