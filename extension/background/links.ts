/**
 * The live bridge ports: one per frame that talks to us, with the origin the browser reported for it.
 * In memory only: a restarted worker starts empty and the bridges reconnect (they re-send what is
 * pending), so nothing here needs to survive.
 */
import type { BackgroundToBridge } from "../shared/messages.ts";

export type BridgeLink = {
  port: chrome.runtime.Port;
  /** From MessageSender (originOf), never from the page. */
  origin: string;
  tabId: number;
  frameId: number;
  /** Pending requests this frame is waiting for. */
  rids: Set<string>;
};

const links = new Set<BridgeLink>();

export function addLink(link: BridgeLink): BridgeLink {
  links.add(link);
  return link;
}

export function removeLink(link: BridgeLink): void {
  links.delete(link);
}

export function allLinks(): BridgeLink[] {
  return [...links];
}

export function linksHolding(rid: string): BridgeLink[] {
  return [...links].filter((l) => l.rids.has(rid));
}

/** Posts to one frame; false when its port has gone away meanwhile. */
export function post(link: BridgeLink, message: BackgroundToBridge): boolean {
  try {
    link.port.postMessage(message);
    return true;
  } catch {
    links.delete(link);
    return false;
  }
}
