// parse-prometheus-text-format ships no types: the shape it returns (prom2json's).
declare module 'parse-prometheus-text-format' {
  /** One sample: a gauge or counter's value, or a histogram's buckets, count and sum. */
  export interface PromSample {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface PromFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: PromSample[];
  }
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}
