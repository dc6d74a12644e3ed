import { pipeline } from 'node:stream';
import type { LogLine } from '../../shared/bridge.js';
import { dialStream } from '../engine/dial-stream.js';
import { bool, clientId, integer, record, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { FrameDemuxer, LineSplitter, PlainLogText, readLogLines, timeKey } from './log-stream.js';
import { subscriptionsOf } from './subscriptions.js';

/** The most lines one logs:open may ask for (the view shows a window, not the whole history). */
const MAX_TAIL = 10_000;

/**
 * logs:open — the last `tail` lines, then (with a subscription) each new line as `logs:lines`;
 * logs:downloadUrl — the whole log as a text file from the local server.
 *
 * The follow stream starts where the tail ended (`since` = the last line's time, lines not
 * after it dropped), so nothing written between the two requests is lost or shown twice.
 */
export function registerLogs(ctx: ServiceContext): void {
  const { registry, engine } = ctx;
  const subs = subscriptionsOf(ctx);

  registry.handle('logs:open', async (args, client) => {
    const a = record(args, 'args');
    const id = text(a['id'], 'id', { max: 256 });
    const tail = integer(a['tail'], 'tail', 0, MAX_TAIL);
    const subscription = a['subscription'] === undefined ? undefined : clientId(a['subscription'], 'subscription');
    const docker = engine.docker;
    const info = await docker.getContainer(id).inspect();
    const tty = info.Config.Tty;
    const startedAt = Date.now();
    const query = { stdout: true, stderr: true, timestamps: true };
    const lines = await readLogLines(await dialStream(docker, `/containers/${info.Id}/logs`, { ...query, tail }), tty);
    if (subscription === undefined) return lines;

    const last = lines.at(-1)?.time;
    const since = last === undefined || last === '' ? startedAt / 1000 : Date.parse(last) / 1000;
    const after = last === undefined || last === '' ? undefined : timeKey(last);
    const stream = await dialStream(docker, `/containers/${info.Id}/logs`, { ...query, follow: true, since: since.toFixed(6) });
    const demux = new FrameDemuxer(tty);
    const splitter = new LineSplitter();
    const emit = (batch: LogLine[]) => {
      const fresh = after === undefined ? batch : batch.filter((l) => l.time === '' || timeKey(l.time) > after);
      if (fresh.length > 0 && !client.closed) client.emit('logs:lines', { subscription, lines: fresh });
    };
    stream.on('data', (chunk: Buffer) => {
      const batch: LogLine[] = [];
      for (const part of demux.push(chunk)) batch.push(...splitter.push(part.stream, part.data));
      emit(batch);
    });
    const close = () => stream.destroy();
    stream.once('end', () => {
      emit(splitter.flush());
      subs.forget(client, subscription, close);
    });
    stream.once('error', () => subs.forget(client, subscription, close));
    subs.add(client, subscription, close);
    return lines;
  });

  registry.handle('logs:downloadUrl', async (args) => {
    const a = record(args, 'args');
    const id = text(a['id'], 'id', { max: 256 });
    const timestamps = bool(a['timestamps'], 'timestamps', false);
    // Checked now, so a wrong id fails here with a message rather than as a broken download.
    const info = await engine.docker.getContainer(id).inspect();
    const name = info.Name.replace(/^\//, '') || info.Id.slice(0, 12);
    const url = ctx.downloads.register({
      fileName: `${name}.log`,
      contentType: 'text/plain; charset=utf-8',
      open: async () => {
        const raw = await dialStream(engine.docker, `/containers/${info.Id}/logs`, { stdout: true, stderr: true, timestamps });
        // pipeline: the browser cancelling the download also closes the engine's stream.
        return pipeline(raw, new PlainLogText(info.Config.Tty), () => undefined);
      },
    });
    return { url };
  });
}
