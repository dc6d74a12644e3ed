import type { JsonMessage, ProgressSink } from '../images/progress-types.js';
import { shortId } from '../images/digest.js';

/**
 * What a classic build writes, as Docker's classic builder does (one JSON message per line):
 *
 *   {"stream":"Step 2/5 : RUN make\n"}
 *   {"stream":" ---> Running in 3f2a9c1b0d4e\n"}
 *   {"stream":"<the command's stdout>"}            stderr in red: "\u001b[91m...\u001b[0m"
 *   {"stream":"Removing intermediate container 3f2a9c1b0d4e\n"}
 *   {"stream":" ---> 8c6b57ebebdd\n"}
 *   {"aux":{"ID":"sha256:..."}}                     after each stage
 *   {"stream":"Successfully built 8c6b57ebebdd\n"}
 *   {"stream":"Successfully tagged app:1\n"}
 *
 * Pull progress for a FROM image passes through as the pull writes it. With `q` (quiet)
 * nothing is sent while the build runs: the messages are kept and sent only if it fails,
 * and a success sends the image ID alone (`{"stream":"sha256:...\n"}`), as Docker's route does.
 */
export class BuildOutput {
  private readonly held: JsonMessage[] = [];
  /** Whether any message was produced (sent, or held when quiet). */
  started = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly quiet: boolean,
  ) {}

  private send(message: JsonMessage): void {
    this.started = true;
    if (this.quiet) this.held.push(message);
    else this.sink.send(message);
  }

  line(text: string): void {
    this.send({ stream: `${text}\n` });
  }

  step(index: number, total: number, original: string): void {
    this.line(`Step ${index}/${total} : ${original}`);
  }

  /** ` ---> <short id>` (` ---> ` alone for `scratch`, as Docker prints it). */
  image(id: string | undefined): void {
    this.line(` ---> ${id === undefined ? '' : shortId(id)}`);
  }

  stdout(chunk: Buffer): void {
    this.send({ stream: chunk.toString('utf8') });
  }

  stderr(chunk: Buffer): void {
    this.send({ stream: `\u001b[91m${chunk.toString('utf8')}\u001b[0m` });
  }

  aux(id: string): void {
    this.send({ aux: { ID: id } });
  }

  /** A pull's own progress messages, unchanged. */
  readonly progress: ProgressSink = { send: (message) => this.send(message) };

  /** The end of a successful build: the ID alone when quiet. */
  finished(id: string): void {
    if (this.quiet) this.sink.send({ stream: `${id}\n` });
  }

  /** A failed build: what quiet held back, then the error (code: a RUN's exit code). */
  failed(message: string, code?: number): void {
    for (const held of this.held.splice(0)) this.sink.send(held);
    this.sink.send({ errorDetail: code !== undefined ? { code, message } : { message }, error: message });
  }
}
