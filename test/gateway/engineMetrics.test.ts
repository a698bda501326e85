import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineMetricsError, readEngineMetrics } from '../../src/gateway/engineMetrics.js';

// Expositions in each engine's own format and names (vLLM's prometheus_client output with its
// model_name label, SGLang's, TGI's, Triton's TensorRT-LLM backend's), with other families around.
const t = suite('engine metrics by engine');

const vllmV1 = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.4375
# HELP vllm:lora_requests_info Running stats on lora requests.
# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora",waiting_lora_adapters=""} 1.7331e+09
vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora,chat-lora",waiting_lora_adapters="tool-lora"} 1.7332e+09
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 123456.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="m"} 0.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="m"} 10.0
vllm:time_to_first_token_seconds_count{model_name="m"} 10.0
vllm:time_to_first_token_seconds_sum{model_name="m"} 1.5
`;

t('vLLM v1: waiting, running, KV usage; the newest lora_requests_info series is the state now', () => {
  assert.equal(readEngineMetrics(vllmV1, 'vllm'), { queueLength: 3, running: 12, kvUsage: 0.4375, adapters: { running: ['sql-lora', 'chat-lora'], waiting: ['tool-lora'], max: 4 } });
});

t('vLLM v0: gpu_cache_usage_perc when kv_cache_usage_perc is absent; two models\' series are summed', () => {
  const v0 = `# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="a"} 2.0
vllm:num_requests_waiting{model_name="b"} 5.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="a"} 1.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="a"} 0.25
vllm:gpu_cache_usage_perc{model_name="b"} 0.5
`;
  assert.equal(readEngineMetrics(v0, 'vllm'), { queueLength: 7, running: 1, kvUsage: 0.5 });
});

t('SGLang, TGI and TensorRT-LLM names', () => {
  const sglang = `# HELP sglang:num_running_reqs The number of running requests.
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="qwen"} 7.0
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="qwen"} 9.0
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="qwen"} 0.91
# TYPE sglang:cache_hit_rate gauge
sglang:cache_hit_rate{model_name="qwen"} 0.5
`;
  assert.equal(readEngineMetrics(sglang, 'sglang'), { queueLength: 9, running: 7, kvUsage: 0.91 });
  const tgi = `# TYPE tgi_queue_size gauge
tgi_queue_size 4
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 16
# TYPE tgi_request_count counter
tgi_request_count 1000
`;
  assert.equal(readEngineMetrics(tgi, 'tgi'), { queueLength: 4, running: 16 });
  const trt = `# TYPE nv_trt_llm_request_metrics gauge
nv_trt_llm_request_metrics{model="ensemble",request_type="context",version="1"} 1
nv_trt_llm_request_metrics{model="ensemble",request_type="scheduled",version="1"} 6
nv_trt_llm_request_metrics{model="ensemble",request_type="max",version="1"} 64
nv_trt_llm_request_metrics{model="ensemble",request_type="active",version="1"} 8
nv_trt_llm_request_metrics{model="ensemble",request_type="waiting",version="1"} 2
# TYPE nv_trt_llm_kv_cache_block_metrics gauge
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max",model="ensemble",version="1"} 4096
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="used",model="ensemble",version="1"} 1024
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction",model="ensemble",version="1"} 0.25
`;
  assert.equal(readEngineMetrics(trt, 'trtllm'), { queueLength: 2, running: 6, kvUsage: 0.25 });
});

t('garbage and another engine\'s page are refused, not read as zeros', () => {
  assert.throws(() => readEngineMetrics('<html><body>sign in</body></html>', 'vllm'), (e: unknown) => e instanceof EngineMetricsError);
  assert.throws(() => readEngineMetrics('# TYPE tgi_queue_size gauge\ntgi_queue_size 4\n', 'vllm'), (e: unknown) => e instanceof EngineMetricsError && /vllm:num_requests_waiting/.test(e.message));
  assert.throws(() => readEngineMetrics('', 'sglang'), (e: unknown) => e instanceof EngineMetricsError);
  // A value that is not a number is skipped, not taken as 0 (KV usage above 1 is capped).
  assert.equal(readEngineMetrics('vllm:num_requests_waiting NaN\nvllm:num_requests_running 2\nvllm:kv_cache_usage_perc 1.5\n', 'vllm'), { running: 2, kvUsage: 1 });
});

t.run();
