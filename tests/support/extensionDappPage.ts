/**
 * Driving the test dapp page from a test: open it (and wait for EIP-6963 discovery), call the
 * provider, or start a call whose answer comes later (connect, a transaction the phone holds) and
 * collect it afterwards. Results come back as `{result}` or `{error: {code, message, data}}`.
 */
import type { BrowserContext, Page } from "playwright-core";

export type CallResult = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

export type DappEvent = { name: string; data: unknown };

export async function openDapp(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() =>
    Boolean((window as unknown as { dapp?: { provider?: unknown } }).dapp?.provider),
  );
  return page;
}

type PageWindow = {
  dapp: { provider: { request(a: unknown): Promise<unknown> }; events: DappEvent[] };
  __calls?: Record<string, Promise<unknown>>;
};

/** Starts `provider.request` in the page under `name`; collect it with `settled(page, name)`. */
export async function startCall(page: Page, name: string, method: string, params?: unknown): Promise<void> {
  await page.evaluate(
    ([n, m, p]) => {
      const w = window as unknown as PageWindow;
      w.__calls ??= {};
      w.__calls[n] = w.dapp.provider.request(p === undefined ? { method: m } : { method: m, params: p }).then(
        (result) => ({ result }),
        (e: { code: number; message: string; data?: unknown }) => ({
          error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) },
        }),
      );
    },
    [name, method, params] as const,
  );
}

export function settled(page: Page, name: string): Promise<CallResult> {
  return page.evaluate((n) => (window as unknown as PageWindow).__calls?.[n] as Promise<CallResult>, name);
}

export async function call(page: Page, method: string, params?: unknown): Promise<CallResult> {
  const name = `call-${Math.random().toString(36).slice(2)}`;
  await startCall(page, name, method, params);
  return settled(page, name);
}

/** The result of a call that must succeed. */
export async function result<T = unknown>(page: Page, method: string, params?: unknown): Promise<T> {
  const r = await call(page, method, params);
  if ("error" in r) throw new Error(`${method} failed: ${r.error.code} ${r.error.message}`);
  return r.result as T;
}

export function events(page: Page): Promise<DappEvent[]> {
  return page.evaluate(() => (window as unknown as PageWindow).dapp.events);
}

/** Waits until the page has recorded an event `name` (after the first `skip` of them). */
export async function waitForEvent(page: Page, name: string, skip = 0, timeout = 20_000): Promise<DappEvent> {
  await page.waitForFunction(
    ([n, s]) => (window as unknown as PageWindow).dapp.events.filter((e) => e.name === n).length > s,
    [name, skip] as const,
    { timeout },
  );
  const all = (await events(page)).filter((e) => e.name === name);
  return all[skip] as DappEvent;
}
