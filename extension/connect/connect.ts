/**
 * The connect window (opened by the background with chrome.windows.create, type "popup"):
 * - not paired: the pairing QR code (the `qrcode` library, as an SVG image), the pairing URI as text
 *   with a copy button, a countdown to its expiry and a clear "expired, show a new code" state; once
 *   the wallet answers, the 6-digit match code to compare with the phone's, and confirm / cancel;
 * - paired: "Connect <origin>?" with approve / deny per waiting site.
 * It renders from storage (session + local) and re-renders on every change; actions go to the
 * background. Closing the window is the user's "no" (4001) to everything it asked.
 */
import QRCode from "qrcode";
import { PAIRING_TTL } from "../../protocol/constants.ts";
import type { ConnectRequest, PairedWallet, PairingState } from "../shared/storageTypes.ts";
import { REQUEST_KEY_PREFIX } from "../shared/storageTypes.ts";
import { chainName, h, replaceChildren, shortAddress } from "../ui/h.ts";
import { holdWorkerPort } from "../ui/holdWorkerPort.ts";
import { sendUiMessage } from "../ui/sendUiMessage.ts";

type View = {
  pairing: PairingState | undefined;
  wallet: PairedWallet | undefined;
  waiting: ConnectRequest[];
};

const app = document.getElementById("app") as HTMLElement;
let qrFor: { uri: string; src: string } | undefined;
let lastError = "";

async function load(): Promise<View> {
  const session = await chrome.storage.session.get(null);
  const local = { wallet: session.wallet };
  const waiting = Object.entries(session)
    .filter(([k]) => k.startsWith(REQUEST_KEY_PREFIX))
    .map(([, v]) => v as ConnectRequest)
    .filter((r) => r.kind === "connect" && !r.outcome);
  return {
    pairing: session.pairing as PairingState | undefined,
    wallet: local.wallet as PairedWallet | undefined,
    waiting,
  };
}

function act(button: HTMLButtonElement, run: () => Promise<void>) {
  button.disabled = true;
  run()
    .then(() => {
      lastError = "";
    })
    .catch((error: unknown) => {
      lastError = error instanceof Error ? error.message : String(error);
      void render();
    })
    .finally(() => {
      button.disabled = false;
    });
}

const button = (label: string, attrs: Record<string, string>, run: () => Promise<void>) => {
  const b = h("button", attrs, label);
  b.addEventListener("click", () => act(b, run));
  return b;
};

function sitesLine(waiting: ConnectRequest[]) {
  const origins = [...new Set(waiting.map((r) => r.origin))];
  if (origins.length === 0) return null;
  return h(
    "p",
    {},
    "To connect ",
    ...origins.flatMap((o, i) => [i ? ", " : "", h("strong", { class: "origin" }, o)]),
    ".",
  );
}

function formatLeft(seconds: number) {
  // Clamped to the code's lifetime: the relay's clock may run a second ahead of ours.
  const s = Math.min(PAIRING_TTL.default, Math.max(0, seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function qrImage(uri: string): Promise<HTMLImageElement> {
  if (qrFor?.uri !== uri) {
    // Margin 4 is the quiet zone ISO/IEC 18004 asks for; "M" error correction suits a screen.
    const svg = await QRCode.toString(uri, { type: "svg", margin: 4, errorCorrectionLevel: "M" });
    qrFor = { uri, src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` };
  }
  return h("img", { class: "qr", id: "qr", alt: "Pairing QR code", src: qrFor.src });
}

function expiredView(view: View, why: string) {
  return [
    h("h2", {}, "Pair your phone wallet"),
    sitesLine(view.waiting),
    h("div", { class: "card", id: "expired" }, h("p", {}, why)),
    h(
      "div",
      { class: "actions" },
      button("Show a new code", { class: "primary", id: "new-code" }, () =>
        sendUiMessage({ type: "ui:newPairing" }),
      ),
      button("Cancel", { id: "cancel" }, () => sendUiMessage({ type: "ui:cancelPairing" })),
    ),
  ];
}

async function pairingView(view: View, pairing: PairingState) {
  if (pairing.status === "failed") return expiredView(view, pairing.error);
  if (pairing.status === "expired") return expiredView(view, "This code has expired.");
  if (pairing.status === "answered") {
    const a = pairing.answer;
    return [
      h("h2", {}, "Compare the match codes"),
      h("p", {}, h("strong", { id: "wallet-name" }, a.wallet.name), " answered the code."),
      h("div", { class: "match-code", id: "match-code" }, a.matchCode),
      h(
        "p",
        { class: "small" },
        "Your phone shows a 6-digit code too. Continue only if both codes are the same: a different code means someone else answered this QR code.",
      ),
      h(
        "p",
        { class: "small muted" },
        `Account ${a.accounts.map(shortAddress).join(", ")} on ${chainName(a.chainId)}`,
      ),
      sitesLine(view.waiting),
      h(
        "div",
        { class: "actions" },
        button("Codes differ: cancel", { id: "reject", class: "danger" }, () =>
          sendUiMessage({ type: "ui:cancelPairing" }),
        ),
        button("Codes match: connect", { id: "confirm", class: "primary" }, () =>
          sendUiMessage({ type: "ui:confirmPairing" }),
        ),
      ),
    ];
  }
  const { uri, expiresAt } = pairing.pending;
  const left = expiresAt - Math.floor(Date.now() / 1000);
  if (left <= 0) return expiredView(view, "This code has expired.");
  const text = h("textarea", { id: "pairing-uri", rows: "4", readonly: true, "aria-label": "Pairing code" });
  text.value = uri;
  const copy = button("Copy", { id: "copy" }, async () => {
    await navigator.clipboard.writeText(uri);
    copy.textContent = "Copied";
  });
  return [
    h("h2", {}, "Pair your phone wallet"),
    sitesLine(view.waiting),
    await qrImage(uri),
    h("p", { class: "small" }, "Scan this with your Balance Bridge wallet, or copy the code into it:"),
    text,
    h(
      "div",
      { class: "row small" },
      h(
        "span",
        { id: "countdown", class: "muted", "data-expires-at": String(expiresAt) },
        `Expires in ${formatLeft(left)}`,
      ),
      copy,
    ),
    h(
      "div",
      { class: "actions" },
      button("Cancel", { id: "cancel" }, () => sendUiMessage({ type: "ui:cancelPairing" })),
    ),
  ];
}

function approvalView(view: View, wallet: PairedWallet) {
  const origins = [...new Set(view.waiting.map((r) => r.origin))];
  return [
    h("h2", {}, "Connect a site"),
    ...origins.map((origin) =>
      h(
        "div",
        { class: "card approval", "data-origin": origin },
        h("p", {}, "Connect ", h("strong", { class: "origin" }, origin), "?"),
        h(
          "p",
          { class: "small muted" },
          `The site will see your account ${wallet.session.accounts.map(shortAddress).join(", ")} and can ask your phone to sign; your phone asks you every time.`,
        ),
        h(
          "div",
          { class: "actions" },
          button("Deny", { class: "deny" }, () => sendUiMessage({ type: "ui:denyOrigin", origin })),
          button("Connect", { class: "primary approve" }, () =>
            sendUiMessage({ type: "ui:approveOrigin", origin }),
          ),
        ),
      ),
    ),
  ];
}

async function render() {
  const view = await load();
  let content: Array<Node | string | null>;
  if (view.pairing) content = await pairingView(view, view.pairing);
  else if (view.wallet && view.waiting.length) content = approvalView(view, view.wallet);
  else content = [h("p", { class: "muted" }, "Nothing is waiting for you. This window can be closed.")];
  replaceChildren(app, ...content, lastError ? h("p", { class: "error", id: "error" }, lastError) : null);
  document.body.dataset.state = view.pairing?.status ?? (view.waiting.length ? "approve" : "idle");
}

// Re-render on any change the background makes; tick the countdown once a second.
let rendering = Promise.resolve();
const rerender = () => {
  rendering = rendering.then(render, render);
};
chrome.storage.onChanged.addListener(rerender);
setInterval(() => {
  const el = document.getElementById("countdown");
  if (!el) return;
  const left = Number(el.dataset.expiresAt) - Math.floor(Date.now() / 1000);
  if (left <= 0) rerender();
  else el.textContent = `Expires in ${formatLeft(left)}`;
}, 1_000);
holdWorkerPort();
rerender();
