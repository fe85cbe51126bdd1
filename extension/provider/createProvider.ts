/**
 * The EIP-1193 provider the page sees. It holds no secrets and decides nothing: every request is
 * posted to the bridge, and the background (which knows the page's real origin) answers it. Events
 * are derived from the state snapshots the background sends, so a snapshot that arrives after a
 * service-worker restart still produces exactly the events the page missed.
 */
import type { BridgeToPage, PageToBridge, ProviderState } from "../shared/messages.ts";
import { createEmitter, type Listener } from "./createEmitter.ts";
import { ProviderRpcError } from "./providerRpcError.ts";

export type RequestArguments = { readonly method: string; readonly params?: readonly unknown[] | object };

export type Eip1193Provider = {
  readonly isBalanceBridge: true;
  request(args: RequestArguments): Promise<unknown>;
  on(event: string, listener: Listener): Eip1193Provider;
  once(event: string, listener: Listener): Eip1193Provider;
  removeListener(event: string, listener: Listener): Eip1193Provider;
  off(event: string, listener: Listener): Eip1193Provider;
  /** Legacy, still widely read: true while a wallet is paired (EIP-1193 "connected"). */
  isConnected(): boolean;
};

type Body<T> = T extends unknown ? Omit<T, "target"> : never;
export type Post = (message: Body<PageToBridge>) => void;

type Inflight = { method: string; params: unknown; resolve(v: unknown): void; reject(e: unknown): void };

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export function createProvider(post: Post, onState: (state: ProviderState) => void) {
  const emitter = createEmitter();
  const inflight = new Map<string, Inflight>();
  // Page-side ids only need to be unique within this document.
  const prefix = Math.random().toString(36).slice(2, 8);
  let counter = 0;
  let state: ProviderState | undefined;

  const send = (id: string, r: Inflight) =>
    post(
      r.params === undefined
        ? { type: "request", id, method: r.method }
        : { type: "request", id, method: r.method, params: r.params },
    );

  const provider: Eip1193Provider = {
    isBalanceBridge: true,
    request(args: RequestArguments) {
      return new Promise((resolve, reject) => {
        const a = args as { method?: unknown; params?: unknown } | null;
        // EIP-1193 §request: the Promise rejects, it never throws synchronously.
        if (typeof a !== "object" || a === null || typeof a.method !== "string" || !a.method) {
          return reject(
            new ProviderRpcError(-32600, "request() needs an object with a non-empty `method` string."),
          );
        }
        const params = a.params;
        if (params !== undefined && (typeof params !== "object" || params === null)) {
          return reject(new ProviderRpcError(-32602, "`params` must be an array or an object."));
        }
        let plain: unknown;
        try {
          // JSON-RPC params are JSON: anything else (functions, cycles, BigInt) is refused here, in the
          // page, rather than dropped later by the bridge's strict checks.
          plain = params === undefined ? undefined : JSON.parse(JSON.stringify(params));
        } catch {
          return reject(new ProviderRpcError(-32602, "`params` must be JSON-serialisable."));
        }
        const id = `${prefix}-${++counter}`;
        const r: Inflight = { method: a.method, params: plain, resolve, reject };
        inflight.set(id, r);
        send(id, r);
      });
    },
    on(event, listener) {
      emitter.on(event, listener);
      return provider;
    },
    once(event, listener) {
      const wrapped: Listener = (...args) => {
        emitter.removeListener(event, wrapped);
        listener(...args);
      };
      emitter.on(event, wrapped);
      return provider;
    },
    removeListener(event, listener) {
      emitter.removeListener(event, listener);
      return provider;
    },
    off(event, listener) {
      emitter.removeListener(event, listener);
      return provider;
    },
    isConnected: () => state?.connected ?? false,
  };

  function applyState(next: ProviderState) {
    const prev = state;
    state = next;
    const wasConnected = prev?.connected ?? false;
    // EIP-1193 §connect / §disconnect, then §chainChanged and §accountsChanged (EIP-1102 semantics:
    // accounts are what this origin may see, [] when it is not connected).
    if (!wasConnected && next.connected) emitter.emit("connect", { chainId: next.chainId });
    if (wasConnected && !next.connected) {
      emitter.emit(
        "disconnect",
        new ProviderRpcError(4900, "The wallet disconnected: the session has ended."),
      );
    }
    if (prev && prev.chainId !== next.chainId) emitter.emit("chainChanged", next.chainId);
    if (!sameList(prev?.accounts ?? [], next.accounts)) emitter.emit("accountsChanged", [...next.accounts]);
    onState(next);
  }

  /** Handles one message from the bridge (already checked to come from this window with our tag). */
  function receive(message: BridgeToPage) {
    if (message.type === "ready") {
      // The bridge (re)started: it never saw what we posted before it listened. It ignores page ids
      // it already has, so re-sending everything in flight is safe.
      post({ type: "hello" });
      for (const [id, r] of inflight) send(id, r);
    } else if (message.type === "state") {
      applyState(message.state);
    } else if (message.type === "response") {
      const r = inflight.get(message.id);
      if (!r) return;
      inflight.delete(message.id);
      if ("error" in message) {
        const e = message.error;
        r.reject(new ProviderRpcError(e.code, e.message, e.data));
      } else {
        r.resolve(message.result);
      }
    }
  }

  return { provider, receive };
}
