/**
 * berthd logs one line per operation to stderr: `<time> <level> <event> key=value...`.
 * Values with spaces are quoted so the lines stay greppable.
 */
export type LogFields = Record<string, string | number | boolean | undefined>;
type Level = 'info' | 'warn' | 'error' | 'debug';

function format(level: Level, event: string, fields: LogFields): string {
  let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return line + '\n';
}

let quiet = false;
const debugEnabled = process.env.BERTH_DEBUG === '1';

export const log = {
  info: (event: string, fields: LogFields = {}): void => {
    if (!quiet) process.stderr.write(format('info', event, fields));
  },
  warn: (event: string, fields: LogFields = {}): void => {
    process.stderr.write(format('warn', event, fields));
  },
  error: (event: string, fields: LogFields = {}): void => {
    process.stderr.write(format('error', event, fields));
  },
  debug: (event: string, fields: LogFields = {}): void => {
    if (debugEnabled) process.stderr.write(format('debug', event, fields));
  },
  /** Silences info lines (used by in-process unit tests). */
  setQuiet: (value: boolean): void => {
    quiet = value;
  },
};
