/**
 * Actions from the extension's own pages. Only pages of this extension may send them: content
 * scripts (which run in web pages) never use runtime.sendMessage, and a sender whose URL is not one
 * of our pages is refused.
 */
import type { UiMessage, UiReply } from "../shared/uiMessages.ts";
import { approveOrigins, denyOrigins } from "./connectRequests.ts";
import { openConnectWindow } from "./connectWindow.ts";
import { endWalletSession } from "./endWalletSession.ts";
import { cancelPairing, confirmPairing, ensurePairing } from "./pairing.ts";
import { revoke } from "./permissions.ts";
import { broadcastState } from "./providerState.ts";
import { saveSettings } from "./settings.ts";
import { getSession, updateLocal } from "./storage.ts";
import { cancelWalletRequest } from "./walletRequests.ts";

export function isExtensionPage(sender: chrome.runtime.MessageSender): boolean {
  return (
    sender.id === chrome.runtime.id &&
    typeof sender.url === "string" &&
    sender.url.startsWith(chrome.runtime.getURL(""))
  );
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string" || !v) throw new Error(`${what} is missing`);
  return v;
};

async function run(message: UiMessage): Promise<void> {
  switch (message.type) {
    case "ui:startPairing":
      if (await getSession("wallet")) throw new Error("A wallet is already paired; disconnect it first.");
      await ensurePairing();
      await openConnectWindow();
      return;
    case "ui:newPairing":
      return ensurePairing({ fresh: true });
    case "ui:confirmPairing":
      return confirmPairing();
    case "ui:cancelPairing":
      return cancelPairing("The user cancelled the pairing.");
    case "ui:approveOrigin":
      return approveOrigins([str(message.origin, "origin")]);
    case "ui:denyOrigin":
      return denyOrigins([str(message.origin, "origin")]);
    case "ui:revoke":
      if (await revoke(str(message.origin, "origin"))) await broadcastState();
      return;
    case "ui:disconnect":
      return endWalletSession("Disconnected in Balance Bridge.", { tellRelay: true });
    case "ui:cancelRequest":
      return cancelWalletRequest(str(message.rid, "rid"));
    case "ui:clearHistory":
      await updateLocal("history", () => undefined);
      return;
    case "ui:saveSettings":
      await saveSettings(message.settings);
      await broadcastState();
      return;
  }
  throw new Error(`unknown action ${(message as { type?: unknown }).type}`);
}

export async function handleUiMessage(message: unknown): Promise<UiReply> {
  try {
    if (typeof message !== "object" || message === null) throw new Error("not an action");
    await run(message as UiMessage);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
