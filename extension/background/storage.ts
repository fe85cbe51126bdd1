/**
 * Typed access to `storage.local` and `storage.session` (layout: shared/storageTypes.ts). Every
 * read-modify-write of one key runs under an in-memory lock, so two handlers of this worker never
 * overwrite each other's change. Only this worker writes; the extension's pages read and listen.
 */
import {
  type LocalData,
  type PendingRequest,
  REQUEST_KEY_PREFIX,
  requestKey,
  type SessionData,
} from "../shared/storageTypes.ts";

const locks = new Map<string, Promise<unknown>>();

/** Runs `task` after every earlier task on the same key has finished. */
export function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const settled = next.catch(() => undefined);
  locks.set(key, settled);
  void settled.then(() => {
    if (locks.get(key) === settled) locks.delete(key);
  });
  return next;
}

export async function getLocal<K extends keyof LocalData>(key: K): Promise<LocalData[K]> {
  const items = await chrome.storage.local.get(key);
  return items[key] as LocalData[K];
}

export async function setLocal<K extends keyof LocalData>(key: K, value: NonNullable<LocalData[K]>) {
  await chrome.storage.local.set({ [key]: value });
}

export async function removeLocal(key: keyof LocalData) {
  await chrome.storage.local.remove(key);
}

/** Read-modify-write of one local key; `change` returns the new value, or undefined to delete it. */
export function updateLocal<K extends keyof LocalData>(
  key: K,
  change: (current: LocalData[K]) => LocalData[K] | Promise<LocalData[K]>,
): Promise<LocalData[K]> {
  return serialized(`local:${key}`, async () => {
    const next = await change(await getLocal(key));
    if (next === undefined) await removeLocal(key);
    else await setLocal(key, next as NonNullable<LocalData[K]>);
    return next;
  });
}

export async function getSession<K extends keyof SessionData>(key: K): Promise<SessionData[K]> {
  const items = await chrome.storage.session.get(key);
  return items[key] as SessionData[K];
}

export function updateSession<K extends keyof SessionData>(
  key: K,
  change: (current: SessionData[K]) => SessionData[K] | Promise<SessionData[K]>,
): Promise<SessionData[K]> {
  return serialized(`session:${key}`, async () => {
    const next = await change(await getSession(key));
    if (next === undefined) await chrome.storage.session.remove(key);
    else await chrome.storage.session.set({ [key]: next });
    return next;
  });
}

export async function listRequests(): Promise<PendingRequest[]> {
  const all = await chrome.storage.session.get(null);
  return Object.entries(all)
    .filter(([key]) => key.startsWith(REQUEST_KEY_PREFIX))
    .map(([, value]) => value as PendingRequest)
    .sort((a, b) => a.createdAt - b.createdAt);
}

export async function getRequest(rid: string): Promise<PendingRequest | undefined> {
  const key = requestKey(rid);
  const items = await chrome.storage.session.get(key);
  return items[key] as PendingRequest | undefined;
}

export function putRequest(request: PendingRequest): Promise<void> {
  return serialized(requestKey(request.rid), () =>
    chrome.storage.session.set({ [requestKey(request.rid)]: request }),
  );
}

export function removeRequest(rid: string): Promise<void> {
  return serialized(requestKey(rid), () => chrome.storage.session.remove(requestKey(rid)));
}

/** Read-modify-write of one pending request; undefined when it no longer exists. */
export function updateRequest<T extends PendingRequest>(
  rid: string,
  change: (current: T) => T,
): Promise<T | undefined> {
  return serialized(requestKey(rid), async () => {
    const current = (await getRequest(rid)) as T | undefined;
    if (!current) return undefined;
    const next = change(current);
    await chrome.storage.session.set({ [requestKey(rid)]: next });
    return next;
  });
}
