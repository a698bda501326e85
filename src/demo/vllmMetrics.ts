// The /metrics page of a vLLM server (v1 names), as the demo's and the tests' fake model servers
// export it: what the gateway's scraper reads.

/** What a vLLM server's /metrics says. */
export interface EngineGauges {
  waiting: number;
  running: number;
  kvUsage: number;
  /** LoRA adapters running and waiting, and max_lora: vllm:lora_requests_info. */
  lora?: { running: string[]; waiting: string[]; max: number };
  /** Counters by their vLLM name without the prefix (prefix_cache_hits_total, ...). */
  counters?: Record<string, number>;
}

const kHelp: Record<string, string> = {
  num_requests_waiting: 'Number of requests waiting to be processed.',
  num_requests_running: 'Number of requests in model execution batches.',
  kv_cache_usage_perc: 'KV-cache usage. 1 means 100 percent usage.',
};

/** The exposition text of `g` for a server of `model`. */
export function vllmMetricsText(model: string, g: EngineGauges): string {
  const l = `{model_name="${model}"}`;
  const family = (name: string, type: 'gauge' | 'counter', value: number) => `${kHelp[name] ? `# HELP vllm:${name} ${kHelp[name]}\n` : ''}# TYPE vllm:${name} ${type}\nvllm:${name}${l} ${value}\n`;
  let text = family('num_requests_waiting', 'gauge', g.waiting) + family('num_requests_running', 'gauge', g.running) + family('kv_cache_usage_perc', 'gauge', g.kvUsage);
  for (const [name, value] of Object.entries(g.counters ?? {})) text += family(name, 'counter', value);
  if (g.lora) {
    // As vLLM does: a new series each time the adapters change, valued at the time of the change.
    text += '# HELP vllm:lora_requests_info Running stats on lora requests.\n# TYPE vllm:lora_requests_info gauge\n';
    text += `vllm:lora_requests_info{max_lora="${g.lora.max}",running_lora_adapters="",waiting_lora_adapters=""} 1.7e9\n`;
    text += `vllm:lora_requests_info{max_lora="${g.lora.max}",running_lora_adapters="${g.lora.running.join(',')}",waiting_lora_adapters="${g.lora.waiting.join(',')}"} 1.8e9\n`;
  }
  return text;
}
