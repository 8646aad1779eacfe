// Public surface of the exporters: the Prometheus endpoint, the OTLP pushes (metrics, log records) and the decision log.
export { PrometheusEndpoint, type PrometheusEndpointOptions } from './prometheus.js';
export { OtlpPush, type OtlpPushOptions } from './otlp.js';
export { OtlpLogPush, type OtlpLogPushOptions } from './otlp-logs.js';
export {
  formatDecision, decisionRecord, formatOverhead, overheadRecord, formatKernelEvent, kernelEventRecord, formatRunEvent, runEventRecord,
  type DecisionRecord,
} from './decision-log.js';
export { log2BoundariesSeconds } from './log2-histogram.js';
