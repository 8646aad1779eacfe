// The OTLP/HTTP JSON body of a metrics push, written as the OpenTelemetry JSON serializer writes it
// (otlp-transformer's JsonMetricsSerializer: the request as objects, JSON.stringify, then
// encoded), but straight from the collection into one UTF-8 buffer. At 2,000 workloads its objects
// and its one 64 MB string took 0.35-0.47 s of the agent's thread a push, this 0.21-0.26 s (the
// labels are most of it: JSON.stringify itself is native). A unit test holds the two outputs
// equal, byte for byte, over everything the agent exports and odd input besides.
import type { AttributeValue, Attributes, HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import type { IExportMetricsServiceResponse, ISerializer } from '@opentelemetry/otlp-transformer';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { TextBuffer } from './text-pieces.js';

/** The serializer the OTLP metrics exporter is built with (otlp.ts); answers are read as the library reads them. */
export const otlpMetricsJson: ISerializer<ResourceMetrics, IExportMetricsServiceResponse> = {
  serializeRequest: (resourceMetrics) => otlpMetricsBody(resourceMetrics),
  deserializeResponse: (body) => JsonMetricsSerializer.deserializeResponse(body),
};

/** What the last body took, bytes: the next one's buffer is sized from it. */
let lastBytes = 0;

/** The request body for one collection, UTF-8. */
export function otlpMetricsBody(rm: ResourceMetrics): Buffer {
  const w = new JsonWriter(new TextBuffer(lastBytes));
  w.out.add('{"resourceMetrics":[{"resource":{"attributes":');
  w.attributes(rm.resource.attributes);
  w.out.add(',"droppedAttributesCount":0');
  // the resource's schema URL, when it has one, is written twice: in the resource and beside it
  const schemaUrl = rm.resource.schemaUrl;
  const hasSchema = !!schemaUrl; // (as the transformer tests it)
  if (hasSchema) w.field('schemaUrl', schemaUrl);
  w.out.add('}');
  if (hasSchema) w.field('schemaUrl', schemaUrl);
  w.out.add(',"scopeMetrics":[');
  rm.scopeMetrics.forEach((scope, i) => {
    if (i > 0) w.out.add(',');
    w.scopeMetrics(scope);
  });
  w.out.add(']}]}');
  const body = w.out.done();
  lastBytes = body.length;
  return body;
}

class JsonWriter {
  constructor(readonly out: TextBuffer) {}

  /** timestamps as written, by their HrTime (a collection's points share a few) */
  private readonly written = new Map<HrTime, string>();
  /** attributes as written, by key then value (see keyValue) */
  private readonly pairs = new Map<string, Map<string | number | boolean, string>>();

  /** `,"key":value` for a string value; nothing for undefined (JSON.stringify leaves such a key out). */
  field(key: string, value: string | undefined): void {
    if (value !== undefined) this.out.add(`,"${key}":${JSON.stringify(value)}`);
  }

  scopeMetrics(sm: ScopeMetrics): void {
    const scope = sm.scope;
    const head = stringFields([['name', scope.name], ['version', scope.version]]);
    this.out.add(`{"scope":{${head}`);
    const attributes = (scope as { attributes?: Attributes }).attributes;
    if (attributes && Object.keys(attributes).length > 0) {
      this.out.add(`${head === '' ? '' : ','}"attributes":`);
      this.attributes(attributes);
      this.out.add(`,"droppedAttributesCount":${numberText((scope as { droppedAttributesCount?: number }).droppedAttributesCount ?? 0)}`);
    }
    this.out.add('},"metrics":[');
    sm.metrics.forEach((m, i) => {
      if (i > 0) this.out.add(',');
      this.metric(m);
    });
    this.out.add(']');
    this.field('schemaUrl', scope.schemaUrl);
    this.out.add('}');
  }

  private metric(m: MetricData): void {
    const d = m.descriptor;
    const head = stringFields([['name', d.name], ['description', d.description], ['unit', d.unit]]);
    this.out.add(`{${head}`);
    const sep = head === '' ? '' : ',';
    const temporality = m.aggregationTemporality === AggregationTemporality.DELTA ? '"aggregationTemporality":1,' : m.aggregationTemporality === AggregationTemporality.CUMULATIVE ? '"aggregationTemporality":2,' : '';
    switch (m.dataPointType) {
      case DataPointType.SUM: {
        const monotonic = m.isMonotonic === undefined ? '' : `"isMonotonic":${m.isMonotonic},`;
        this.out.add(`${sep}"sum":{${temporality}${monotonic}"dataPoints":[`);
        this.singularPoints(m.dataPoints, d.valueType);
        this.out.add(']}');
        break;
      }
      case DataPointType.GAUGE:
        this.out.add(`${sep}"gauge":{"dataPoints":[`);
        this.singularPoints(m.dataPoints, d.valueType);
        this.out.add(']}');
        break;
      case DataPointType.HISTOGRAM:
        this.out.add(`${sep}"histogram":{${temporality}"dataPoints":[`);
        m.dataPoints.forEach((p, i) => this.histogramPoint(p, i));
        this.out.add(']}');
        break;
      case DataPointType.EXPONENTIAL_HISTOGRAM:
        this.out.add(`${sep}"exponentialHistogram":{${temporality}"dataPoints":[`);
        m.dataPoints.forEach((p, i) => this.exponentialPoint(p, i));
        this.out.add(']}');
        break;
    }
    this.out.add('}');
  }

  private singularPoints(points: DataPoint<number>[], valueType: ValueType | undefined): void {
    const key = valueType === ValueType.INT ? 'asInt' : valueType === ValueType.DOUBLE ? 'asDouble' : undefined;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      this.out.add(i > 0 ? ',{"attributes":' : '{"attributes":');
      this.attributes(p.attributes);
      const value = typeof p.value === 'number' ? numberText(p.value) : JSON.stringify(p.value);
      this.out.add(`${this.times(p)}${key === undefined || value === undefined ? '' : `,"${key}":${value}`}}`);
    }
  }

  private histogramPoint(p: DataPoint<Histogram>, i: number): void {
    const h = p.value;
    this.out.add(i > 0 ? ',{"attributes":' : '{"attributes":');
    this.attributes(p.attributes);
    this.out.add(
      `,"bucketCounts":${arrayText(h.buckets.counts)},"explicitBounds":${arrayText(h.buckets.boundaries)}` +
        `${optional('count', h.count)}${optional('sum', h.sum)}${optional('min', h.min)}${optional('max', h.max)}${this.times(p)}}`,
    );
  }

  private exponentialPoint(p: DataPoint<ExponentialHistogram>, i: number): void {
    const h = p.value;
    this.out.add(i > 0 ? ',{"attributes":' : '{"attributes":');
    this.attributes(p.attributes);
    const side = (name: string, b: { offset: number; bucketCounts: number[] }): string => {
      const offset = optional('offset', b.offset);
      const counts = b.bucketCounts === undefined ? '' : `${offset === '' ? '' : ','}"bucketCounts":${arrayText(b.bucketCounts)}`;
      return `,"${name}":{${offset.slice(1)}${counts}}`;
    };
    this.out.add(
      `${optional('count', h.count)}${optional('min', h.min)}${optional('max', h.max)}${optional('sum', h.sum)}` +
        `${side('positive', h.positive)}${side('negative', h.negative)}${optional('scale', h.scale)}${optional('zeroCount', h.zeroCount)}${this.times(p)}}`,
    );
  }

  /** `,"startTimeUnixNano":"…","timeUnixNano":"…"`: nanoseconds as decimal strings. */
  private times(p: DataPoint<unknown>): string {
    return `,"startTimeUnixNano":"${this.nanos(p.startTime)}","timeUnixNano":"${this.nanos(p.endTime)}"`;
  }

  private nanos(t: HrTime): string {
    let s = this.written.get(t);
    if (s === undefined) {
      s = (BigInt(Math.trunc(t[0])) * 1_000_000_000n + BigInt(Math.trunc(t[1]))).toString();
      this.written.set(t, s);
    }
    return s;
  }

  /** An attribute list: `[{"key":…,"value":{…}},…]`. */
  attributes(attributes: Attributes): void {
    let s = '[';
    let first = true;
    for (const key of Object.keys(attributes)) {
      s += first ? this.keyValue(key, attributes[key]) : `,${this.keyValue(key, attributes[key])}`;
      first = false;
    }
    this.out.add(`${s}]`);
  }

  /**
   * `{"key":…,"value":{…}}`, kept for the call by key and value when the value is a plain one: a
   * workload's labels are on each of its tens of series, and writing them was most of the time.
   */
  private keyValue(key: string, value: AttributeValue | undefined): string {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return `{"key":${JSON.stringify(key)},"value":${anyValue(value)}}`;
    let byValue = this.pairs.get(key);
    if (byValue === undefined) this.pairs.set(key, (byValue = new Map()));
    let text = byValue.get(value);
    if (text === undefined) byValue.set(value, (text = `{"key":${JSON.stringify(key)},"value":${anyValue(value)}}`));
    return text;
  }
}

/** An AnyValue as the transformer makes it: by the value's JS type (an integer number is an int). */
function anyValue(value: AttributeValue | Uint8Array | object | undefined | null): string {
  switch (typeof value) {
    case 'string':
      return `{"stringValue":${JSON.stringify(value)}}`;
    case 'number':
      return Number.isInteger(value) ? `{"intValue":${value}}` : `{"doubleValue":${numberText(value)}}`;
    case 'boolean':
      return `{"boolValue":${value}}`;
  }
  if (value instanceof Uint8Array) return `{"bytesValue":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`;
  if (Array.isArray(value)) {
    // by index, as the transformer reads it: a hole is an empty value, where map would skip it
    let s = '';
    for (let i = 0; i < value.length; i++) s += `${i > 0 ? ',' : ''}${anyValue(value[i] as AttributeValue)}`;
    return `{"arrayValue":{"values":[${s}]}}`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value).map((k) => `{"key":${JSON.stringify(k)},"value":${anyValue((value as Record<string, AttributeValue>)[k])}}`);
    return `{"kvlistValue":{"values":[${entries.join(',')}]}}`;
  }
  return '{}';
}

/** A number as JSON.stringify writes it: NaN and the infinities as null. */
function numberText(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

/** `"key":"value"` for each string given, comma-separated; one that is undefined is left out (as JSON.stringify leaves it). */
function stringFields(fields: readonly (readonly [string, string | undefined])[]): string {
  let s = '';
  for (const [key, value] of fields) if (value !== undefined) s += `${s === '' ? '' : ','}"${key}":${JSON.stringify(value)}`;
  return s;
}

/** `,"key":n`, or nothing when n is undefined. */
function optional(key: string, n: number | undefined): string {
  return n === undefined ? '' : `,"${key}":${numberText(n)}`;
}

/** An array as JSON.stringify writes it (holes and undefined as null). */
function arrayText(values: readonly number[]): string {
  let s = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    s += `${i > 0 ? ',' : ''}${typeof v === 'number' ? numberText(v) : (JSON.stringify(v) ?? 'null')}`;
  }
  return `${s}]`;
}
