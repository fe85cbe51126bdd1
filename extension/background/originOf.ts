/**
 * The origin of a content-script port as the browser reports it (MessageSender). The page cannot
 * influence it: `sender.origin` is the frame's committed origin. Only when the browser gives none
 * (older versions) do we fall back to the frame's URL. An opaque origin ("null": sandboxed frames,
 * data: URLs) is refused, never replaced by its URL, which would hand it the URL's privileges.
 */
export function originOf(sender: chrome.runtime.MessageSender): string | undefined {
  const text = sender.origin ?? sender.url ?? (sender.frameId === 0 ? sender.tab?.url : undefined);
  if (!text || text === "null") return undefined;
  let origin: string;
  try {
    origin = new URL(text).origin;
  } catch {
    return undefined;
  }
  return /^https?:\/\//.test(origin) ? origin : undefined;
}
