// The Prometheus text format, written as the OpenTelemetry Prometheus exporter writes it (its
// PrometheusSerializer, as configured in prometheus.ts: no prefix, no timestamps, no scope labels,
// target_info on), but in pieces and without its costs at thousands of workloads: the serializer
// builds the whole page as one string (46 MB at 2,000 workloads), escapes every label with three
// regular expressions and trims the page family by family, about 0.5 s of the agent's thread a
// scrape plus the garbage. A unit test holds the two outputs equal, byte for byte. Where they
// differ, on what the agent never exports: a metric of its own named target_info (dropped here;
// the serializer merges it into the resource's family), a string given as a point's value; and
// on a page of no metric, whose comment line ends here with its newline.
import { diag, type AttributeValue, type Attributes } from '@opentelemetry/api';
import { DataPointType, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { TextPieces } from './text-pieces.js';

/** The page for one collection, as pieces to write in order. */
export function prometheusText(resourceMetrics: ResourceMetrics): Buffer[] {
  const out = new TextPieces();
  writeResource(out, resourceMetrics.resource.attributes);
  const before = out.length;
  for (const [name, family] of families(resourceMetrics)) {
    let withMetadata = true;
    for (const metric of family.metrics) {
      if (writeMetric(out, name, family, metric, withMetadata)) withMetadata = false;
    }
  }
  // (with its line's end: the serializer's had none, and a strict parser, promtool's, refused the
  // page an agent serves in its first second)
  if (out.length === before) out.add('# no registered metrics\n');
  return out.done();
}

interface Family {
  help: string;
  unit: string;
  type: string;
  metrics: MetricData[];
}

/** Metrics grouped by their Prometheus name, in the order first seen; a name given two types is dropped. */
function families(resourceMetrics: ResourceMetrics): Map<string, Family> {
  const out = new Map<string, Family>();
  const dropped = new Set<string>(['target_info']); // written from the resource
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const name = metricName(metric);
      if (name === undefined || dropped.has(name)) continue;
      const type = typeOf(metric);
      const family = out.get(name);
      if (!family) {
        out.set(name, { help: '', unit: '', type, metrics: [metric] });
      } else if (family.type !== type) {
        diag.warn(`Conflicting TYPE comments for metric "${name}": "${family.type}", "${type}"; dropping the metric.`);
        out.delete(name);
        dropped.add(name);
      } else {
        family.metrics.push(metric);
      }
    }
  }
  // a family's HELP and UNIT: the first of its metrics' that is not empty
  for (const family of out.values()) {
    for (const { descriptor } of family.metrics) {
      family.help ||= descriptor.description;
      family.unit ||= descriptor.unit;
    }
  }
  return out;
}

function metricName(metric: MetricData): string | undefined {
  let name = sanitizeName(escapeText(metric.descriptor.name));
  if (name === '' || name === '_') {
    diag.error(`Normalization for metric "${metric.descriptor.name}" resulted in an invalid name: "${name}"`);
    return undefined;
  }
  if (name[0] >= '0' && name[0] <= '9') name = `_${name}`;
  if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic && !name.endsWith('_total')) name += '_total';
  return name;
}

function typeOf(metric: MetricData): string {
  switch (metric.dataPointType) {
    case DataPointType.SUM: return metric.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE: return 'gauge';
    case DataPointType.HISTOGRAM: return 'histogram';
    default: return 'untyped';
  }
}

function writeResource(out: TextPieces, attributes: Attributes): void {
  out.add('# HELP target_info Target metadata\n# TYPE target_info gauge\n');
  out.add(`target_info${labelsOf(attributes, '')} 1\n`);
}

/** Writes one metric's lines (and its family's metadata when asked); false when it wrote nothing. */
function writeMetric(out: TextPieces, name: string, family: Family, metric: MetricData, withMetadata: boolean): boolean {
  if (withMetadata) {
    const unit = family.unit ? `# UNIT ${name} ${escapeText(family.unit)}\n` : '';
    out.add(`# HELP ${name} ${escapeText(family.help || 'description missing')}\n${unit}# TYPE ${name} ${family.type}\n`);
  }
  const start = out.length;
  switch (metric.dataPointType) {
    case DataPointType.SUM:
    case DataPointType.GAUGE:
      for (const p of metric.dataPoints) out.add(`${name}${labelsOf(p.attributes, '')} ${valueText(p.value)}\n`);
      break;
    case DataPointType.HISTOGRAM:
      for (const p of metric.dataPoints) writeHistogram(out, name, p.attributes, p.value);
      break;
    default:
      diag.error(`Unrecognizable DataPointType: ${metric.dataPointType} for metric "${name}"`);
  }
  return withMetadata || out.length > start;
}

function writeHistogram(out: TextPieces, name: string, attributes: Attributes, h: Histogram): void {
  const labels = labelsOf(attributes, '');
  if (h.count != null) out.add(`${name}_count${labels} ${valueText(h.count)}\n`);
  if (h.sum != null) out.add(`${name}_sum${labels} ${valueText(h.sum)}\n`);
  // `le` comes last, after the point's own labels
  const open = labels === '' ? '{' : `${labels.slice(0, -1)},`;
  const { boundaries, counts } = h.buckets;
  let cumulative = 0;
  let infinityBound = false;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i];
    const bound = boundaries[i];
    if (bound === undefined && infinityBound) break;
    if (bound === Infinity) infinityBound = true;
    const le = bound === undefined || bound === Infinity ? '+Inf' : String(bound);
    out.add(`${name}_bucket${open}le="${le}"} ${valueText(cumulative)}\n`);
  }
}

/** `{a="x",b="y"}`, or '' without labels. */
function labelsOf(attributes: Attributes, none: string): string {
  let s = '';
  for (const key in attributes) {
    s += `${s === '' ? '' : ','}${sanitizeName(key)}="${labelValue(attributes[key])}"`;
  }
  return s === '' ? none : `{${s}}`;
}

const sanitized = new Map<string, string>();

/** Characters OpenTelemetry allows in a name and Prometheus does not become '_' (runs of '_' one). */
function sanitizeName(name: string): string {
  let s = sanitized.get(name);
  if (s === undefined) {
    s = name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
    if (sanitized.size < 4096) sanitized.set(name, s);
  }
  return s;
}

const NEEDS_ESCAPE = /[\\\n"]/;

function labelValue(value: AttributeValue | undefined): string {
  const s = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return NEEDS_ESCAPE.test(s) ? escapeText(s).replace(/"/g, '\\"') : s;
}

function escapeText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function valueText(value: number): string {
  return value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : `${value}`;
}
