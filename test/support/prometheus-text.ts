// A strict reader of the Prometheus text exposition format (0.0.4) for the tests: every line must be a
// HELP, a TYPE or a sample; each family has one HELP and one TYPE before its samples, which are
// contiguous; a summary's samples are its quantiles, `_sum` and `_count`; a histogram's are its
// `_bucket`s (each with `le`, cumulative: never decreasing with `le`, ending at `+Inf` equal to
// `_count`), `_sum` and `_count`; a counter's name ends in `_total` and its values are not negative;
// no series (name and labels) appears twice. Throws on anything else. Independent of the renderer:
// it checks what promtool's parser and `promtool check metrics` would.
const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = "(?:[+-]?(?:\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|Inf)|NaN)";
const HELP = new RegExp(`^# HELP (${NAME}) (.+)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|summary|histogram|untyped)$`);
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})$`);

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

function labelsOf(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (text ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    out[m[1] as string] = (m[2] as string).replaceAll("\\n", "\n").replace(/\\(["\\])/g, "$1");
  }
  return out;
}

/**
 * The family a sample belongs to: its own name (not a histogram's: its samples all have suffixes), or
 * a summary's name without `_sum`/`_count`, or a histogram's without `_bucket`/`_sum`/`_count`.
 */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const own = families.get(name);
  if (own && own.type !== "histogram") return own;
  const summary = families.get(name.replace(/_(sum|count)$/, ""));
  if (summary?.type === "summary" && summary.name !== name) return summary;
  const histogram = families.get(name.replace(/_(bucket|sum|count)$/, ""));
  if (histogram?.type === "histogram" && histogram.name !== name) return histogram;
  return undefined;
}

/** A histogram's buckets, per series (labels other than `le`): cumulative, ending at +Inf = _count. */
function checkHistogram(f: Family): void {
  const key = (labels: Record<string, string>) =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([k]) => k !== "le")
        .sort(),
    );
  const series = new Map<string, { buckets: { le: number; value: number }[]; count?: number }>();
  for (const s of f.samples) {
    const entry = series.get(key(s.labels)) ?? { buckets: [] };
    series.set(key(s.labels), entry);
    if (s.name.endsWith("_bucket")) {
      const le = s.labels.le;
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      entry.buckets.push({ le: le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), value: s.value });
    } else if (s.name.endsWith("_count")) entry.count = s.value;
    else if (s.labels.le !== undefined) throw new Error(`${f.name}: le on a ${s.name}`);
  }
  for (const [labels, { buckets, count }] of series) {
    const where = `${f.name}${labels}`;
    for (const [i, b] of buckets.entries()) {
      if (Number.isNaN(b.le)) throw new Error(`${where}: an le that is not a number`);
      const prev = buckets[i - 1];
      if (prev && !(b.le > prev.le)) throw new Error(`${where}: le not increasing`);
      if (prev && b.value < prev.value) throw new Error(`${where}: buckets not cumulative`);
    }
    const last = buckets.at(-1);
    if (last?.le !== Number.POSITIVE_INFINITY) throw new Error(`${where}: no +Inf bucket last`);
    if (count !== last.value) throw new Error(`${where}: _count is not the +Inf bucket`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  const seen = new Set<string>();
  for (const [i, line] of text.slice(0, -1).split("\n").entries()) {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    const help = HELP.exec(line);
    const type = TYPE.exec(line);
    const sample = SAMPLE.exec(line);
    if (help) {
      if (families.has(help[1] as string)) throw new Error(`${where}: a second HELP`);
      pendingHelp = { name: help[1] as string, help: help[2] as string };
    } else if (type) {
      const name = type[1] as string;
      if (pendingHelp?.name !== name) throw new Error(`${where}: TYPE without its HELP just before`);
      if (families.has(name)) throw new Error(`${where}: a second TYPE`);
      if (current) closed.add(current.name);
      current = { name, help: pendingHelp.help, type: type[2] as string, samples: [] };
      families.set(name, current);
      pendingHelp = undefined;
    } else if (sample) {
      const name = sample[1] as string;
      const family = familyOf(name, families);
      if (!family) throw new Error(`${where}: a sample of no declared family`);
      if (family !== current || closed.has(family.name)) throw new Error(`${where}: samples not contiguous`);
      const labels = labelsOf(sample[2]);
      if (family.type === "summary" && name === family.name && labels.quantile === undefined)
        throw new Error(`${where}: a summary sample without a quantile`);
      const value = Number(sample[3]);
      if (family.type === "counter" && (!name.endsWith("_total") || !(value >= 0)))
        throw new Error(`${where}: a counter must be named …_total and not be negative`);
      const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(id)) throw new Error(`${where}: a series seen twice`);
      seen.add(id);
      family.samples.push({ name, labels, value });
    } else {
      throw new Error(`${where}: not HELP, TYPE or a sample`);
    }
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}
