/**
 * Just enough PromQL reading for lint tests: which reprise series an expression selects (with the label names it
 * matches on), which labels it groups or matches by, which range windows it uses, and whether every division is
 * guarded against a zero denominator.
 */

export interface Selector {
  series: string;
  labels: string[];
}

/** `reprise_x{a="1", b=~"2"}` -> { series: 'reprise_x', labels: ['a', 'b'] }, for every reprise series in `expr`. */
export function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  for (const match of expr.matchAll(/\b(reprise_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g)) {
    const matchers = match[2] ?? '';
    const labels = [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1]!);
    found.push({ series: match[1]!, labels });
  }
  return found;
}

/** Label names after by / without / on / ignoring / group_left / group_right. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)]
    .flatMap((match) => match[1]!.split(','))
    .map((label) => label.trim())
    .filter((label) => label !== '');
}

/** Each function call that takes a range vector, with its window: rate(x[5m]) -> { fn: 'rate', window: '5m' }. */
export function rangeFunctions(expr: string): Array<{ fn: string; window: string }> {
  return [...expr.matchAll(/\b([a-z_]+)\s*\(\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(?:\{[^}]*\})?\s*\[([^\]]+)\]/g)]
    .map((match) => ({ fn: match[1]!, window: match[2]!.trim() }));
}

/** Range windows anywhere in the expression (`[...]`, outside label matchers). */
export function rangeWindows(expr: string): string[] {
  return [...withoutStrings(expr).matchAll(/\[([^\]]+)\]/g)].map((match) => match[1]!.trim());
}

/**
 * Denominators that could be zero: for every `/`, what follows must be clamp_min(...) (never below its floor) or a
 * parenthesised filter ending in `> 0` (no sample when zero). Returns the unguarded denominators.
 */
export function unguardedDivisions(expr: string): string[] {
  const text = withoutStrings(expr);
  const unguarded: string[] = [];
  for (let index = text.indexOf('/'); index !== -1; index = text.indexOf('/', index + 1)) {
    const rest = text.slice(index + 1).trimStart();
    if (rest.startsWith('clamp_min(')) continue;
    if (rest.startsWith('(')) {
      const inner = rest.slice(1, closingParen(rest));
      if (/>\s*0\s*$/.test(inner)) continue;
    }
    unguarded.push(rest.split('\n')[0]!.slice(0, 80));
  }
  return unguarded;
}

/** Quoted strings blanked out, so a `/` or `[` inside a label value is not read as an operator. */
function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => `"${' '.repeat(quoted.length - 2)}"`);
}

/** Index of the parenthesis closing the one at index 0. */
function closingParen(text: string): number {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    if (text[index] === '(') depth += 1;
    if (text[index] === ')' && --depth === 0) return index;
  }
  return text.length;
}
