/**
 * The approval step (`--approve ask|auto|reject`):
 * - ask: prints the question on the terminal and waits for y/N (anything but y/yes declines; the
 *   prompt is withdrawn, as a decline, when the request expires or the dapp cancels it);
 * - auto: approves everything (tests, demos; never with real funds);
 * - reject: declines everything, so the dapp gets 4001 UserRejectedRequestError.
 */
import { createInterface } from "node:readline/promises";
import type { RequestDescription } from "./describe.ts";

export const APPROVAL_MODES = ["ask", "auto", "reject"] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

export type ApprovalDecision = { approved: boolean; reason: string };

export type Approver = {
  readonly mode: ApprovalMode;
  decide(description: RequestDescription, options?: { signal?: AbortSignal }): Promise<ApprovalDecision>;
};

export class ApprovalError extends Error {
  override name = "ApprovalError";
}

export function parseApprovalMode(text: string): ApprovalMode {
  if ((APPROVAL_MODES as readonly string[]).includes(text)) return text as ApprovalMode;
  throw new ApprovalError(`--approve must be one of ${APPROVAL_MODES.join(", ")}, got "${text}"`);
}

export type ApproverOptions = {
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
  /** Accept a non-TTY input for `ask` (tests feeding answers through a pipe). */
  allowNonTty?: boolean;
};

export function createApprover(mode: ApprovalMode, options: ApproverOptions = {}): Approver {
  if (mode === "auto") return { mode, decide: async () => ({ approved: true, reason: "approved (auto)" }) };
  if (mode === "reject")
    return { mode, decide: async () => ({ approved: false, reason: "declined (reject)" }) };

  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  if (!input.isTTY && !options.allowNonTty) {
    throw new ApprovalError("--approve ask needs an interactive terminal; use --approve auto or reject");
  }
  // One question at a time: the wallet handles requests in order, but be safe against overlap.
  let queue: Promise<unknown> = Promise.resolve();
  const ask = async (d: RequestDescription, signal?: AbortSignal): Promise<ApprovalDecision> => {
    if (signal?.aborted)
      return { approved: false, reason: `declined (${String(signal.reason ?? "aborted")})` };
    const rl = createInterface({ input, output, terminal: Boolean(input.isTTY) });
    try {
      const answer = await rl.question(
        `  Approve ${d.method} from ${d.origin}? [y/N] `,
        signal ? { signal } : {},
      );
      const yes = /^\s*y(es)?\s*$/i.test(answer);
      return { approved: yes, reason: yes ? "approved (by you)" : "declined (by you)" };
    } catch (error) {
      if (signal?.aborted) {
        output.write("\n");
        return { approved: false, reason: `declined (${String(signal.reason ?? "aborted")})` };
      }
      throw error;
    } finally {
      rl.close();
    }
  };
  return {
    mode,
    decide(description, o = {}) {
      const next = queue.then(() => ask(description, o.signal));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
