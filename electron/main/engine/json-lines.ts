/**
 * Reads a stream of newline-delimited JSON (the engine's /events, /berth/stats and
 * /containers/{id}/stats): calls `onValue` with each parsed line as it arrives. A line that is
 * not JSON is skipped — one torn sample must not end a live stream.
 */
export function onJsonLines(stream: NodeJS.ReadableStream, onValue: (value: unknown) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      onValue(value);
    }
  });
}
