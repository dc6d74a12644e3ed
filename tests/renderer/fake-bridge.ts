import type { BerthBridge, EventChannel, EventPayload, InvokeArgs, InvokeChannel, InvokeResult } from '../../electron/shared/bridge.js';
import { BridgeFailure } from '../../electron/shared/bridge.js';

type Responder<C extends InvokeChannel> = (args: InvokeArgs<C>) => InvokeResult<C> | Promise<InvokeResult<C>>;

/**
 * An in-memory bridge for component and store tests: answers invokes from the responders a
 * test sets, records every call, and lets the test push events. (The real transports are
 * covered by the integration and e2e suites.)
 */
export class FakeBridge implements BerthBridge {
  readonly calls: { channel: InvokeChannel; args: unknown }[] = [];
  readonly #responders = new Map<InvokeChannel, Responder<InvokeChannel>>();
  readonly #listeners = new Map<EventChannel, Set<(p: unknown) => void>>();

  respond<C extends InvokeChannel>(channel: C, responder: Responder<C>): this {
    this.#responders.set(channel, responder as unknown as Responder<InvokeChannel>);
    return this;
  }

  fail(channel: InvokeChannel, message: string, status?: number): this {
    this.#responders.set(channel, () => {
      throw new BridgeFailure({ message, ...(status === undefined ? {} : { status }) });
    });
    return this;
  }

  async invoke<C extends InvokeChannel>(channel: C, args: InvokeArgs<C>): Promise<InvokeResult<C>> {
    this.calls.push({ channel, args });
    const responder = this.#responders.get(channel);
    if (responder === undefined) throw new BridgeFailure({ code: 'unknown-channel', message: `FakeBridge: no responder for ${channel}` });
    return (await responder(args as never)) as InvokeResult<C>;
  }

  on<C extends EventChannel>(channel: C, listener: (payload: EventPayload<C>) => void): () => void {
    let set = this.#listeners.get(channel);
    if (set === undefined) this.#listeners.set(channel, (set = new Set()));
    const l = listener as (p: unknown) => void;
    set.add(l);
    return () => set.delete(l);
  }

  emit<C extends EventChannel>(channel: C, payload: EventPayload<C>): void {
    for (const l of this.#listeners.get(channel) ?? []) l(payload);
  }

  callsTo(channel: InvokeChannel): unknown[] {
    return this.calls.filter((c) => c.channel === channel).map((c) => c.args);
  }
}
