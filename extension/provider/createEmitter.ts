/**
 * The part of Node's EventEmitter API that EIP-1193 §Events requires (`on`, `removeListener`), plus
 * `once` and `off`, which libraries commonly call. A throwing listener never stops the others.
 */
export type Listener = (...args: unknown[]) => void;

export function createEmitter() {
  const listeners = new Map<string, Listener[]>();
  return {
    on(event: string, listener: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    removeListener(event: string, listener: Listener) {
      const list = listeners.get(event) ?? [];
      const i = list.lastIndexOf(listener);
      if (i >= 0) listeners.set(event, [...list.slice(0, i), ...list.slice(i + 1)]);
    },
    emit(event: string, ...args: unknown[]) {
      for (const listener of listeners.get(event) ?? []) {
        try {
          listener(...args);
        } catch (error) {
          // Report it like an uncaught error, without breaking the loop.
          setTimeout(() => {
            throw error;
          });
        }
      }
    },
  };
}
