// Which endpoints serve the model a request names. An endpoint lists base models ("llama-3-70b")
// and LoRA adapters on them ("llama-3-70b:lora-sql"); one that lists an adapter serves its base
// too (the engine loads the base to run it). A request names a base, a "base:adapter", or an
// adapter by its own name, as vLLM serves it ("lora-sql").

/** Whether an endpoint with this model list serves `model` (every model when it lists none). */
export function serves(models: readonly string[] | undefined, model: string): boolean {
  if (!models) return true;
  for (const m of models) {
    if (m === model) return true;
    const at = m.indexOf(':');
    if (at > 0 && (m.slice(0, at) === model || m.slice(at + 1) === model)) return true;
  }
  return false;
}

/** The adapter a request for `model` runs, as engines name it in their metrics; undefined for a base model. */
export function adapterOf(models: readonly string[] | undefined, model: string): string | undefined {
  const at = model.indexOf(':');
  if (at > 0) return model.slice(at + 1);
  return models?.some((m) => m.endsWith(`:${model}`)) ? model : undefined;
}
