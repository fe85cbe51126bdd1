/** Messages from the extension's own pages (connect window, action popup, options) to the background. */
export type UiMessage =
  | { type: "ui:startPairing" }
  | { type: "ui:newPairing" }
  | { type: "ui:confirmPairing" }
  | { type: "ui:cancelPairing" }
  | { type: "ui:approveOrigin"; origin: string }
  | { type: "ui:denyOrigin"; origin: string }
  | { type: "ui:revoke"; origin: string }
  | { type: "ui:disconnect" }
  | { type: "ui:cancelRequest"; rid: string }
  | { type: "ui:clearHistory" }
  | { type: "ui:saveSettings"; settings: unknown };

export type UiReply = { ok: true } | { ok: false; error: string };
