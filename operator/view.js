// Small DOM helpers. Everything shown comes from the server as data: it is only ever set as text, never as HTML.

export const $ = (selector) => document.querySelector(selector);

export function percent(ratio) {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)}%` : '—';
}

/** hits / (hits + misses), or NaN when there were no reads. */
export function ratio(hits, misses) {
  return hits + misses === 0 ? Number.NaN : hits / (hits + misses);
}

export function text(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value.toLocaleString('en');
    // Small figures (false-positive rates) keep their significant digits.
    return Math.abs(value) < 0.01 && value !== 0 ? value.toPrecision(3) : value.toFixed(3);
  }
  return String(value);
}

/** A byte count in the unit that suits it (1 KB = 1024 bytes). */
export function bytes(value) {
  if (!Number.isFinite(value)) return '—';
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Fills a <dl> with [term, value] pairs. */
export function fillList(dl, pairs) {
  dl.replaceChildren(
    ...pairs.flatMap(([term, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = text(value);
      return [dt, dd];
    }),
  );
}

export function row(cells) {
  const tr = document.createElement('tr');
  cells.forEach((cell, index) => {
    const td = document.createElement(index === 0 ? 'th' : 'td');
    if (index === 0) td.scope = 'row';
    td.textContent = cell;
    tr.append(td);
  });
  return tr;
}

/** Nested figures as dotted names: { lookups: { hits: 1 } } -> [['lookups.hits', 1]]. */
export function flatten(object, prefix = '') {
  return Object.entries(object ?? {}).flatMap(([name, value]) =>
    value !== null && typeof value === 'object' ? flatten(value, `${prefix}${name}.`) : [[`${prefix}${name}`, value]],
  );
}

export function say(element, message, isError = false) {
  element.textContent = message;
  element.classList.toggle('error', isError);
}
