/** Sends an action to the background and turns its `{ok:false, error}` into a thrown Error. */
import type { UiMessage, UiReply } from "../shared/uiMessages.ts";

export async function sendUiMessage(message: UiMessage): Promise<void> {
  const reply = (await chrome.runtime.sendMessage(message)) as UiReply | undefined;
  if (!reply) throw new Error("The extension's background did not answer.");
  if (!reply.ok) throw new Error(reply.error);
}
