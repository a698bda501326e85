// What an inference engine's Prometheus metrics say of its load, by engine: the names differ, the
// meaning is the one llm-d's model server protocol asks for (requests waiting, requests running,
// share of the KV cache in use, LoRA adapters loaded). Where an engine renamed a metric, both
// names are read, the new one first.
//
//   engine   waiting                         running                          KV cache in use                                LoRA adapters
//   vllm     vllm:num_requests_waiting       vllm:num_requests_running        vllm:kv_cache_usage_perc (v1, 0.10+)           vllm:lora_requests_info
//                                                                             vllm:gpu_cache_usage_perc (v0, before 0.10)    (running_/waiting_lora_adapters, max_lora)
//   sglang   sglang:num_queue_reqs           sglang:num_running_reqs          sglang:token_usage                             -
//   tgi      tgi_queue_size                  tgi_batch_current_size           -                                              -
//   trtllm   nv_trt_llm_request_metrics      nv_trt_llm_request_metrics       nv_trt_llm_kv_cache_block_metrics              -
//            {request_type="waiting"}        {request_type="scheduled"}       {kv_cache_block_type="fraction"}
//
// The text is parsed by parse-prometheus-text-format (prom2json's output); a family missing from
// the scrape leaves its field unreported, and a text with none of them is refused as not an
// engine's.
import type { PromFamily } from 'parse-prometheus-text-format';
import { promText } from '../lazy.js';
import type { LoadReport } from '../mesh/balancers.js';

export type EngineKind = 'vllm' | 'sglang' | 'tgi' | 'trtllm';

/** A gauge: a family's name and, when it holds several series, the labels of the one to read. */
interface Gauge {
  name: string;
  labels?: Record<string, string>;
}

interface EngineMetricNames {
  waiting: readonly Gauge[];
  running: readonly Gauge[];
  kvUsage: readonly Gauge[];
  lora?: string;
}

/** Metric names by engine (the table above). */
export const kEngineMetrics: Readonly<Record<EngineKind, EngineMetricNames>> = Object.freeze({
  vllm: {
    waiting: [{ name: 'vllm:num_requests_waiting' }],
    running: [{ name: 'vllm:num_requests_running' }],
    kvUsage: [{ name: 'vllm:kv_cache_usage_perc' }, { name: 'vllm:gpu_cache_usage_perc' }],
    lora: 'vllm:lora_requests_info',
  },
  sglang: {
    waiting: [{ name: 'sglang:num_queue_reqs' }],
    running: [{ name: 'sglang:num_running_reqs' }],
    kvUsage: [{ name: 'sglang:token_usage' }],
  },
  tgi: {
    waiting: [{ name: 'tgi_queue_size' }],
    running: [{ name: 'tgi_batch_current_size' }],
    kvUsage: [],
  },
  trtllm: {
    waiting: [{ name: 'nv_trt_llm_request_metrics', labels: { request_type: 'waiting' } }],
    running: [{ name: 'nv_trt_llm_request_metrics', labels: { request_type: 'scheduled' } }],
    kvUsage: [{ name: 'nv_trt_llm_kv_cache_block_metrics', labels: { kv_cache_block_type: 'fraction' } }],
  },
});

/** Why a scrape's text could not be read. */
export class EngineMetricsError extends Error {}

/**
 * The load report in an engine's metrics text. Several series of one family (one per model, as
 * vLLM labels them) are summed; KV usage takes the largest. Throws EngineMetricsError when the
 * text does not parse or holds none of the engine's metrics.
 */
export function readEngineMetrics(text: string, engine: EngineKind): LoadReport {
  let families: PromFamily[];
  try {
    families = (promText() as unknown as (text: string) => PromFamily[])(text);
  } catch (error) {
    throw new EngineMetricsError(`not Prometheus text: ${(error as Error).message}`);
  }
  const byName = new Map(families.map((f) => [f.name, f]));
  const names = kEngineMetrics[engine];
  const report: LoadReport = {};
  const waiting = read(byName, names.waiting, sum);
  const running = read(byName, names.running, sum);
  const kv = read(byName, names.kvUsage, Math.max);
  if (waiting !== undefined) report.queueLength = waiting;
  if (running !== undefined) report.running = running;
  if (kv !== undefined) report.kvUsage = Math.min(1, kv);
  const adapters = names.lora ? lora(byName.get(names.lora)) : undefined;
  if (adapters) report.adapters = adapters;
  if (waiting === undefined && running === undefined && kv === undefined) throw new EngineMetricsError(`none of ${engine}'s metrics (${[...names.waiting, ...names.running, ...names.kvUsage].map((g) => g.name).join(', ')})`);
  return report;
}

const sum = (a: number, b: number) => a + b;

// The first gauge of the list present, its series (those with the labels asked for) combined.
function read(byName: ReadonlyMap<string, PromFamily>, gauges: readonly Gauge[], combine: (a: number, b: number) => number): number | undefined {
  for (const g of gauges) {
    const family = byName.get(g.name);
    if (!family) continue;
    let value: number | undefined;
    for (const m of family.metrics) {
      if (g.labels && !Object.entries(g.labels).every(([k, v]) => m.labels?.[k] === v)) continue;
      const x = Number(m.value);
      if (!Number.isFinite(x) || x < 0) continue;
      value = value === undefined ? x : combine(value, x);
    }
    if (value !== undefined) return value;
  }
  return undefined;
}

// vllm:lora_requests_info is a gauge whose value is when its labels were set: the newest series
// is the engine's state now. Its labels list the adapters (comma-separated) and max_lora.
function lora(family: PromFamily | undefined): LoadReport['adapters'] {
  let newest: Record<string, string> | undefined, at = -Infinity;
  for (const m of family?.metrics ?? []) {
    const t = Number(m.value);
    if (m.labels && Number.isFinite(t) && t >= at) [newest, at] = [m.labels, t];
  }
  if (!newest) return undefined;
  const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const max = Number(newest.max_lora);
  return { running: list(newest.running_lora_adapters), waiting: list(newest.waiting_lora_adapters), max: Number.isInteger(max) && max >= 0 ? max : 0 };
}
