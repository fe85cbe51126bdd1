/**
 * EIP-2255 wallet permissions, per origin. The only capability is `eth_accounts` (EIP-1102): an origin
 * holding it sees the paired wallet's accounts; every other origin sees `[]` and gets 4100 for
 * anything that needs an account. Grants live in `storage.local` and are dropped with the session.
 */
import type { Permission } from "../../protocol/rpc.ts";
import type { Grant } from "../shared/storageTypes.ts";
import { getSession, updateSession } from "./storage.ts";

/** EIP-2255 permission object, with its `date` (unix ms) and the accounts as a caveat. */
export type AccountsPermission = Permission & { date: number };

export async function grantFor(origin: string): Promise<Grant | undefined> {
  const all = await getSession("permissions");
  return all && Object.hasOwn(all, origin) ? all[origin] : undefined;
}

export async function grant(origins: readonly string[]): Promise<void> {
  if (origins.length === 0) return;
  await updateSession("permissions", (all) => {
    const next = { ...all };
    for (const origin of origins) next[origin] ??= { grantedAt: Date.now() };
    return next;
  });
}

export async function revoke(origin: string): Promise<boolean> {
  let had = false;
  await updateSession("permissions", (all) => {
    if (!all || !Object.hasOwn(all, origin)) return all;
    had = true;
    const { [origin]: _gone, ...rest } = all;
    return rest;
  });
  return had;
}

export async function revokeAll(): Promise<void> {
  await updateSession("permissions", () => undefined);
}

export function accountsPermission(
  origin: string,
  g: Grant,
  accounts: readonly string[],
): AccountsPermission {
  return {
    invoker: origin,
    parentCapability: "eth_accounts",
    caveats: [{ type: "restrictReturnedAccounts", value: [...accounts] }],
    date: g.grantedAt,
  };
}
