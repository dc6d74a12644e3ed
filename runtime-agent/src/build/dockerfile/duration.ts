/**
 * Go's time.ParseDuration, which Docker uses for HEALTHCHECK's --interval, --timeout,
 * --start-period and --start-interval: a sequence of decimal numbers with units
 * (`300ms`, `1.5h`, `2h45m`, `-1s`); `0` alone needs no unit. Values are nanoseconds, the
 * unit of the image config's Healthcheck fields.
 */

const UNIT_NANOSECONDS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const TERM = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/** Nanoseconds of a Go duration; undefined when `text` is not one. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest !== '') {
    const match = TERM.exec(rest);
    const whole = match?.[1] ?? '';
    const fraction = match?.[2];
    const unit = match?.[3] ?? '';
    if (!match || (whole === '' && (fraction === undefined || fraction === ''))) return undefined;
    const factor = Object.hasOwn(UNIT_NANOSECONDS, unit) ? UNIT_NANOSECONDS[unit] : undefined;
    if (factor === undefined) return undefined;
    total += Number(`${whole === '' ? '0' : whole}.${fraction ?? '0'}`) * factor;
    rest = rest.slice(match[0].length);
  }
  return Number.isFinite(total) ? sign * Math.round(total) : undefined;
}
