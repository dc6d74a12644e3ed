import type { LayerProgress, OperationKind, OperationProgress } from '../../shared/bridge.js';

/**
 * Docker's JSON progress messages (one a line in a pull, push, load or build answer) and how
 * the app folds them into the per-layer picture the UI draws:
 *
 *   {"status":"Pulling from team/app","id":"latest"}                      → not a layer
 *   {"status":"Pulling fs layer","progressDetail":{},"id":"3f2a9c1b0d4e"}   → layer appears
 *   {"status":"Downloading","progressDetail":{"current":1080,"total":2811},"id":"3f2a…"}
 *   {"status":"Pull complete","progressDetail":{},"id":"3f2a…"}            → layer done
 *   {"status":"Digest: sha256:…"}  {"status":"Status: Downloaded newer image for …"}
 *   {"stream":"Step 1/3 : FROM busybox\n"}   {"aux":{"ID":"sha256:…"}}    (build)
 *   {"errorDetail":{"message":"…","code":1},"error":"…"}                  → the operation failed
 */
export interface JsonMessage {
  readonly status?: string;
  readonly id?: string;
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
  readonly stream?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string; readonly code?: number };
  readonly aux?: { readonly ID?: string; readonly Tag?: string; readonly Digest?: string };
}

/** The failure a message reports, if it reports one. */
export function messageError(message: JsonMessage): string | undefined {
  if (message.errorDetail === undefined && message.error === undefined) return undefined;
  const text = message.errorDetail?.message || message.error;
  return text || 'the engine reported an error without a message';
}

/** Statuses after which a layer has all its bytes (the bar shows full). */
const DONE = /^(Pull complete|Already exists|Download complete|Pushed|Layer already exists|Mounted from|Loading layer complete)/;
/** Statuses carrying an `id` that is not a layer (a tag, the repository). */
const NOT_A_LAYER = /^(Pulling from|The push refers to|Digest:|Status:)/;

/**
 * The per-layer picture of one operation, in the order layers first appeared. `apply`
 * answers whether the picture changed (so a caller pushes only changes).
 */
export class LayerBoard {
  readonly #layers = new Map<string, LayerProgress>();

  apply(message: JsonMessage): boolean {
    const { id, status } = message;
    if (id === undefined || id === '' || status === undefined || NOT_A_LAYER.test(status)) return false;
    const before = this.#layers.get(id);
    const detail = message.progressDetail ?? {};
    let current = typeof detail.current === 'number' ? detail.current : before?.current;
    const total = typeof detail.total === 'number' && detail.total > 0 ? detail.total : before?.total;
    if (DONE.test(status) && total !== undefined) current = total;
    const next: LayerProgress = { id, status, ...(current === undefined ? {} : { current }), ...(total === undefined ? {} : { total }) };
    if (before !== undefined && before.status === next.status && before.current === next.current && before.total === next.total) return false;
    this.#layers.set(id, next);
    return true;
  }

  get layers(): LayerProgress[] {
    return [...this.#layers.values()];
  }
}

/**
 * Calls `emit` at most once per `intervalMs` while `schedule` is called (the first at once),
 * and once more after the last call so the final state always goes out. `flush` sends what
 * is pending now (at the end of an operation).
 */
export class Throttle {
  #last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pending = false;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  schedule(): void {
    this.#pending = true;
    if (this.#timer !== undefined) return;
    const wait = this.#last + this.intervalMs - this.now();
    if (wait <= 0) this.#fire();
    else this.#timer = setTimeout(() => this.#fire(), wait);
  }

  flush(): void {
    if (this.#pending) this.#fire();
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = false;
  }

  #fire(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#pending) return;
    this.#pending = false;
    this.#last = this.now();
    this.emit();
  }
}

/** Splits a byte stream into JSON messages, one a line; a line that is not JSON becomes a `stream` line. */
export class JsonLineSplitter {
  #rest = '';

  push(chunk: string): JsonMessage[] {
    const text = this.#rest + chunk;
    const lines = text.split('\n');
    this.#rest = lines.pop() ?? '';
    return lines.flatMap(parseLine);
  }

  end(): JsonMessage[] {
    const rest = this.#rest;
    this.#rest = '';
    return parseLine(rest);
  }
}

function parseLine(line: string): JsonMessage[] {
  const trimmed = line.trim();
  if (trimmed === '') return [];
  try {
    const value: unknown = JSON.parse(trimmed);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return [value as JsonMessage];
  } catch {
    // not JSON: an engine that writes plain text
  }
  return [{ stream: `${trimmed}\n` }];
}

/**
 * What one operation pushes to its renderer: the layer picture at most every 100 ms (and once
 * at the end), and output lines as they complete (ANSI colours stripped).
 */
export class ProgressReport {
  readonly #board = new LayerBoard();
  readonly #throttle: Throttle;
  #partial = '';

  constructor(
    private readonly operation: string,
    private readonly kind: OperationKind,
    private readonly emit: (progress: OperationProgress) => void,
    intervalMs = 100,
  ) {
    this.#throttle = new Throttle(intervalMs, () => this.emit({ operation: this.operation, kind: this.kind, layers: this.#board.layers }));
  }

  /** A layer message (changes the picture) or a status line. */
  message(message: JsonMessage): void {
    if (this.#board.apply(message)) this.#throttle.schedule();
    else if (message.stream !== undefined) this.text(message.stream);
    else if (message.status !== undefined && (message.id === undefined || /^(Pulling from|The push refers to)/.test(message.status))) {
      this.line(message.id === undefined ? message.status : `${message.id}: ${message.status}`);
    }
  }

  /** Output text that may hold several lines or part of one. */
  text(chunk: string): void {
    const lines = (this.#partial + stripAnsi(chunk)).split(/\r?\n/);
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  line(line: string): void {
    this.emit({ operation: this.operation, kind: this.kind, line });
  }

  get layers(): LayerProgress[] {
    return this.#board.layers;
  }

  /** Sends what is still pending (the last picture, an unfinished line). */
  finish(): void {
    this.#throttle.flush();
    if (this.#partial !== '') this.line(this.#partial);
    this.#partial = '';
  }

  stop(): void {
    this.#throttle.cancel();
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}
