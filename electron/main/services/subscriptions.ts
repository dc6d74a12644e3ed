import type { Client } from '../transport/registry.js';
import { clientId, record } from '../transport/validate.js';
import type { ServiceContext } from './context.js';

/**
 * The streams a renderer opened by subscription id (log follows, stats watches). Each ends
 * when the renderer sends `subscription:close`, when the same id is reused, or when its client
 * goes away. Ids are the renderer's, so they are kept per client: two windows may pick alike.
 */
export class Subscriptions {
  readonly #byClient = new Map<Client, Map<string, () => void>>();

  /** Holds `close` for `subscription` of `client`; a previous holder of that id is closed first. */
  add(client: Client, subscription: string, close: () => void): void {
    if (client.closed) {
      close();
      return;
    }
    let mine = this.#byClient.get(client);
    if (mine === undefined) {
      mine = new Map();
      this.#byClient.set(client, mine);
      // One close hook per client, however many subscriptions it opens over its life.
      client.onClose(() => this.#closeAll(client));
    }
    mine.get(subscription)?.();
    mine.set(subscription, close);
  }

  /** Ends one subscription; answers whether there was one. */
  close(client: Client, subscription: string): boolean {
    const mine = this.#byClient.get(client);
    const close = mine?.get(subscription);
    if (close === undefined) return false;
    mine?.delete(subscription);
    close();
    return true;
  }

  /** Forgets a subscription that ended by itself (its stream finished), without closing it again. */
  forget(client: Client, subscription: string, close: () => void): void {
    const mine = this.#byClient.get(client);
    if (mine?.get(subscription) === close) mine.delete(subscription);
  }

  count(client: Client): number {
    return this.#byClient.get(client)?.size ?? 0;
  }

  #closeAll(client: Client): void {
    const mine = this.#byClient.get(client);
    this.#byClient.delete(client);
    for (const close of mine?.values() ?? []) {
      try {
        close();
      } catch {
        // one failing close must not keep the others open
      }
    }
  }
}

/** One Subscriptions per app (keyed by its handler registry, so apps in one process stay apart). */
const perApp = new WeakMap<ServiceContext['registry'], Subscriptions>();

export function subscriptionsOf(ctx: ServiceContext): Subscriptions {
  let subs = perApp.get(ctx.registry);
  if (subs === undefined) {
    subs = new Subscriptions();
    perApp.set(ctx.registry, subs);
  }
  return subs;
}

/** subscription:close — the one handler for every kind of subscription. */
export function registerSubscriptions(ctx: ServiceContext): void {
  const subs = subscriptionsOf(ctx);
  ctx.registry.handle('subscription:close', (args, client) => {
    subs.close(client, clientId(record(args, 'args')['subscription'], 'subscription'));
  });
}
