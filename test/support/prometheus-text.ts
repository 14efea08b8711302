// A strict reader of the Prometheus text exposition format (0.0.4) for the tests: every line must be a
// HELP, a TYPE or a sample; each family has one HELP and one TYPE before its samples, which are
// contiguous; a summary's samples are its quantiles, `_sum` and `_count`. Throws on anything else.
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

/** The family a sample belongs to: its own name, or a summary's name without `_sum`/`_count`. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const own = families.get(name);
  if (own) return own;
  const base = name.replace(/_(sum|count)$/, "");
  const summary = families.get(base);
  return summary && summary.type === "summary" && base !== name ? summary : undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
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
      family.samples.push({ name, labels, value: Number(sample[3]) });
    } else {
      throw new Error(`${where}: not HELP, TYPE or a sample`);
    }
  }
  return families;
}
