/**
 * JSON messages in session envelopes: seal a value as UTF-8 JSON, open and validate it with its schema.
 * A message that does not authenticate, is not JSON, or does not match its schema throws
 * EnvelopeError, so callers never act on an unchecked value.
 */
import type { z } from "zod";
import { fromBase64Url, toBase64Url } from "./base64url.ts";
import { bytesToUtf8, utf8ToBytes } from "./bytes.ts";
import { EnvelopeError, type MessageKind, openSession, sealSession } from "./envelope.ts";
import { describeIssues } from "./schemas.ts";

export type MessageAddress = { key: string; sessionId: string; kind: MessageKind; id: string };

export function sealMessage(address: MessageAddress & { value: unknown }): string {
  const { key, sessionId, kind, id, value } = address;
  const plaintext = utf8ToBytes(JSON.stringify(value));
  return toBase64Url(sealSession({ key: fromBase64Url(key, "key"), sessionId, kind, id, plaintext }));
}

export function openMessage<S extends z.ZodType>(
  address: MessageAddress & { sealed: string; schema: S },
): z.infer<S> {
  const { key, sessionId, kind, id, sealed, schema } = address;
  const plaintext = openSession({
    key: fromBase64Url(key, "key"),
    sessionId,
    kind,
    id,
    envelope: fromBase64Url(sealed, "sealed"),
  });
  let json: unknown;
  try {
    json = JSON.parse(bytesToUtf8(plaintext));
  } catch {
    throw new EnvelopeError(`${kind} is not UTF-8 JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new EnvelopeError(`${kind} is malformed: ${describeIssues(parsed.error).message}`);
  return parsed.data;
}
