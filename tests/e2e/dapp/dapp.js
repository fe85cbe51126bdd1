// The test dapp (used by the e2e tests and `npm run demo`): finds Balance Bridge by EIP-6963, records
// every announcement and provider event in `window.dapp` for the tests, and offers buttons for people.

const dapp = { announcements: [], events: [], provider: undefined };
window.dapp = dapp;
const $ = (id) => document.getElementById(id);
const log = (line) => {
  $("log").textContent = `${new Date().toISOString().slice(11, 19)} ${line}\n${$("log").textContent}`;
  console.log(line);
};
$("origin").textContent = location.origin;
$("window-ethereum").textContent = window.ethereum
  ? window.ethereum.isBalanceBridge
    ? "Balance Bridge"
    : "another wallet"
  : "absent";

function use(provider) {
  dapp.provider = provider;
  for (const name of ["connect", "disconnect", "chainChanged", "accountsChanged", "message"]) {
    provider.on(name, (data) => {
      const value = data instanceof Error ? { code: data.code, message: data.message } : data;
      dapp.events.push({ name, data: value });
      log(`event ${name} ${JSON.stringify(value)}`);
      if (name === "accountsChanged") $("accounts").textContent = JSON.stringify(data);
      if (name === "chainChanged" || name === "connect")
        $("chain").textContent = name === "connect" ? data.chainId : data;
    });
  }
}

// EIP-6963: listen, then ask; providers that loaded before us announce again.
window.addEventListener("eip6963:announceProvider", (event) => {
  dapp.announcements.push(event.detail);
  $("wallets").textContent = dapp.announcements.map((d) => `${d.info.name} (${d.info.rdns})`).join(", ");
  if (event.detail.info.rdns === "org.balancebridge" && !dapp.provider) use(event.detail.provider);
});
window.dispatchEvent(new Event("eip6963:requestProvider"));

async function call(method, params) {
  if (!dapp.provider) throw new Error("Balance Bridge not found");
  log(`→ ${method}`);
  try {
    const result = await dapp.provider.request(params === undefined ? { method } : { method, params });
    log(`← ${method} ${JSON.stringify(result)}`);
    return result;
  } catch (error) {
    log(`✗ ${method} ${error.code} ${error.message}`);
    throw error;
  }
}
dapp.call = call;
const account = async () => (await call("eth_accounts"))[0] ?? (await call("eth_requestAccounts"))[0];
const onClick = (id, run) => $(id).addEventListener("click", () => run().catch(() => {}));

onClick("connect", async () => {
  $("accounts").textContent = JSON.stringify(await call("eth_requestAccounts"));
  $("chain").textContent = await call("eth_chainId");
});
onClick("balance", async () => {
  const wei = BigInt(await call("eth_getBalance", [await account(), "latest"]));
  log(`balance ${Number(wei / 10n ** 12n) / 1e6} ETH`);
});
onClick("sign", async () => {
  const message = `0x${[...new TextEncoder().encode(`Hello from ${location.origin}`)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  await call("personal_sign", [message, await account()]);
});
onClick("typed", async () => {
  const from = await account();
  const chainId = Number.parseInt(await call("eth_chainId"), 16);
  await call("eth_signTypedData_v4", [from, JSON.stringify(dapp.typedData(chainId, from))]);
});
onClick("send", async () => {
  const wei = BigInt(Math.round(Number($("value").value) * 1e6)) * 10n ** 12n;
  await call("eth_sendTransaction", [
    { from: await account(), to: $("to").value, value: `0x${wei.toString(16)}` },
  ]);
});

dapp.typedData = (chainId, from) => ({
  types: {
    EIP712Domain: [
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
    ],
    Mail: [
      { name: "from", type: "address" },
      { name: "contents", type: "string" },
    ],
  },
  primaryType: "Mail",
  domain: { name: "Balance Bridge test dapp", version: "1", chainId },
  message: { from, contents: "Hello, Bob!" },
});
