/**
 * Docker's JSON message stream (`application/json`, one object per line), as pull, push,
 * load and build write it and the docker CLI draws it (jsonmessage.go): `status` lines keyed by
 * `id` (a layer's short digest) redrawn in place, `progressDetail` for the bars, `stream` for
 * build output, `aux` for results, `error`/`errorDetail` for a failure, which ends the stream.
 */
export interface JsonMessage {
  readonly status?: string;
  readonly id?: string;
  readonly progress?: string;
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
  readonly stream?: string;
  readonly aux?: unknown;
  readonly error?: string;
  readonly errorDetail?: { readonly code?: number; readonly message: string };
}

/** Where a long operation writes its messages (the HTTP response, or a collector in tests). */
export interface ProgressSink {
  send(message: JsonMessage): void;
}
