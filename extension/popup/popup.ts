/**
 * The action popup: the paired wallet (name, accounts, chain, match code) with Disconnect; the
 * connected sites with Revoke (EIP-2255); requests waiting for the phone with their delivery status
 * (queued → notified → fetched → answered, from the relay's Request-Status receipts) and Cancel; and
 * recent answers, including those whose page was closed before they came (with the tx hash).
 * Renders from storage and re-renders on every change.
 */
import type { HistoryEntry, PairedWallet, PendingRequest } from "../shared/storageTypes.ts";
import { REQUEST_KEY_PREFIX } from "../shared/storageTypes.ts";
import { chainName, h, replaceChildren } from "../ui/h.ts";
import { sendUiMessage } from "../ui/sendUiMessage.ts";

const app = document.getElementById("app") as HTMLElement;
let lastError = "";

const STATUS_STEPS = ["queued", "notified", "fetched", "answered"] as const;

function act(b: HTMLButtonElement, run: () => Promise<void>) {
  b.disabled = true;
  run()
    .then(() => {
      lastError = "";
    })
    .catch((error: unknown) => {
      lastError = error instanceof Error ? error.message : String(error);
    })
    .finally(() => {
      b.disabled = false;
      void render();
    });
}

const button = (label: string, attrs: Record<string, string>, run: () => Promise<void>) => {
  const b = h("button", attrs, label);
  b.addEventListener("click", () => act(b, run));
  return b;
};

function walletSection(wallet: PairedWallet | undefined) {
  if (!wallet) {
    return h(
      "div",
      { class: "card", id: "wallet" },
      h("p", {}, "No wallet paired."),
      h(
        "p",
        { class: "small muted" },
        "A site asks to connect, or pair now, and scan the QR code with your phone wallet.",
      ),
      h(
        "div",
        { class: "actions" },
        button("Pair a wallet", { class: "primary", id: "pair" }, () =>
          sendUiMessage({ type: "ui:startPairing" }),
        ),
      ),
    );
  }
  const s = wallet.session;
  return h(
    "div",
    { class: "card", id: "wallet" },
    h(
      "div",
      { class: "row" },
      h("strong", { id: "wallet-name" }, s.wallet.name),
      h("span", { class: "badge", id: "chain" }, chainName(s.chainId)),
    ),
    ...s.accounts.map((a) => h("div", { class: "mono small account" }, a)),
    h(
      "div",
      { class: "small muted" },
      "Match code ",
      h("span", { class: "mono", id: "match-code" }, s.matchCode),
      ` · paired ${new Date(s.pairedAt * 1000).toLocaleString()}`,
    ),
    h(
      "div",
      { class: "actions" },
      button("Disconnect", { class: "danger", id: "disconnect" }, () =>
        sendUiMessage({ type: "ui:disconnect" }),
      ),
    ),
  );
}

function sitesSection(origins: string[]) {
  return [
    h("h2", {}, "Connected sites"),
    origins.length === 0
      ? h("p", { class: "small muted", id: "no-sites" }, "None.")
      : h(
          "ul",
          { class: "plain", id: "sites" },
          ...origins.map((origin) =>
            h(
              "li",
              { class: "card row site", "data-origin": origin },
              h("span", { class: "mono small" }, origin),
              button("Revoke", { class: "revoke" }, () => sendUiMessage({ type: "ui:revoke", origin })),
            ),
          ),
        ),
  ];
}

function statusBadge(status: string) {
  const step = STATUS_STEPS.indexOf(status as (typeof STATUS_STEPS)[number]);
  return h(
    "span",
    { class: `badge ${status}`, title: STATUS_STEPS.join(" → ") },
    step >= 0 ? `${step + 1}/4 ${status}` : status,
  );
}

function requestsSection(requests: PendingRequest[]) {
  return [
    h("h2", {}, "Waiting"),
    requests.length === 0
      ? h("p", { class: "small muted", id: "no-requests" }, "Nothing is waiting.")
      : h(
          "ul",
          { class: "plain", id: "requests" },
          ...requests.map((r) =>
            h(
              "li",
              { class: "card request", "data-rid": r.rid, "data-status": r.status },
              h(
                "div",
                { class: "row" },
                h("strong", {}, r.method),
                r.kind === "wallet" ? statusBadge(r.status) : h("span", { class: "badge" }, "awaiting you"),
              ),
              h("div", { class: "small muted mono" }, r.origin),
              r.kind === "wallet" && !r.outcome
                ? h(
                    "div",
                    { class: "actions" },
                    button("Cancel", { class: "cancel" }, () =>
                      sendUiMessage({ type: "ui:cancelRequest", rid: r.rid }),
                    ),
                  )
                : null,
            ),
          ),
        ),
  ];
}

function outcomeText(e: HistoryEntry): string {
  if ("error" in e.outcome) return `Error ${e.outcome.error.code}: ${e.outcome.error.message}`;
  return typeof e.outcome.result === "string" ? e.outcome.result : JSON.stringify(e.outcome.result);
}

function historySection(history: HistoryEntry[]) {
  if (history.length === 0) return [];
  return [
    h(
      "div",
      { class: "row" },
      h("h2", {}, "Recent answers"),
      button("Clear", { class: "small", id: "clear-history" }, () =>
        sendUiMessage({ type: "ui:clearHistory" }),
      ),
    ),
    h(
      "ul",
      { class: "plain", id: "history" },
      ...history.map((e) =>
        h(
          "li",
          { class: "card history", "data-rid": e.rid, "data-delivered": String(e.delivered) },
          h(
            "div",
            { class: "row" },
            h("strong", {}, e.method),
            h(
              "span",
              { class: `badge ${e.delivered ? "answered" : ""}` },
              e.delivered ? "delivered" : "page was closed",
            ),
          ),
          h("div", { class: "small muted mono" }, e.origin),
          h("div", { class: `small mono outcome ${"error" in e.outcome ? "error" : ""}` }, outcomeText(e)),
        ),
      ),
    ),
  ];
}

async function render() {
  const [local, session] = await Promise.all([
    chrome.storage.local.get("history"),
    chrome.storage.session.get(null),
  ]);
  const wallet = session.wallet as PairedWallet | undefined;
  const origins = Object.keys((session.permissions as Record<string, unknown> | undefined) ?? {}).sort();
  const requests = Object.entries(session)
    .filter(([k]) => k.startsWith(REQUEST_KEY_PREFIX))
    .map(([, v]) => v as PendingRequest)
    .sort((a, b) => a.createdAt - b.createdAt);
  const history = (local.history as HistoryEntry[] | undefined) ?? [];
  const options = h("a", { href: "#", id: "open-options", class: "small" }, "Options");
  options.addEventListener("click", (event) => {
    event.preventDefault();
    void chrome.runtime.openOptionsPage();
  });
  replaceChildren(
    app,
    walletSection(wallet),
    ...sitesSection(origins),
    ...requestsSection(requests),
    ...historySection(history),
    lastError ? h("p", { class: "error", id: "error" }, lastError) : null,
    h("p", { class: "small" }, options),
  );
}

chrome.storage.onChanged.addListener(() => void render());
void render();
