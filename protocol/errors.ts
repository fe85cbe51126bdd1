/**
 * Typed errors, each with a static code and name, serialisable to `{code, message, data}` and back.
 *
 * - Provider errors: EIP-1193 §Provider Errors (4001, 4100, 4200, 4900, 4901), EIP-3085/3326's 4902,
 *   and the JSON-RPC 2.0 / EIP-1474 codes (-32700, -326xx, -320xx).
 * - Relay errors: the relay's stable machine codes (docs/PROTOCOL.md §Errors) with their HTTP status.
 */

export type ProviderErrorJSON = { code: number; message: string; data?: unknown };

export class ProviderRpcError extends Error {
  static readonly code: number = -32603;
  override name = "ProviderRpcError";
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
  toJSON(): ProviderErrorJSON {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

function providerError<const N extends string>(code: number, name: N, defaultMessage: string) {
  return class extends ProviderRpcError {
    static override readonly code = code;
    override name = name;
    constructor(message: string = defaultMessage, data?: unknown) {
      super(code, message, data);
    }
  };
}

// EIP-1193 provider errors.
export class UserRejectedRequestError extends providerError(
  4001,
  "UserRejectedRequestError",
  "User rejected the request.",
) {}
export class UnauthorizedError extends providerError(
  4100,
  "UnauthorizedError",
  "The requested method and/or account has not been authorized by the user.",
) {}
export class UnsupportedMethodError extends providerError(
  4200,
  "UnsupportedMethodError",
  "The Provider does not support the requested method.",
) {}
export class DisconnectedError extends providerError(
  4900,
  "DisconnectedError",
  "The Provider is disconnected from all chains.",
) {}
export class ChainDisconnectedError extends providerError(
  4901,
  "ChainDisconnectedError",
  "The Provider is not connected to the requested chain.",
) {}
// EIP-3326 / EIP-3085: the wallet does not know the chain (wallet_switchEthereumChain).
export class UnrecognizedChainError extends providerError(
  4902,
  "UnrecognizedChainError",
  "Unrecognized chain ID. Try adding the chain using wallet_addEthereumChain first.",
) {}
// JSON-RPC 2.0 and EIP-1474.
export class ParseRpcError extends providerError(-32700, "ParseRpcError", "Invalid JSON was received.") {}
export class InvalidRequestRpcError extends providerError(
  -32600,
  "InvalidRequestRpcError",
  "The JSON sent is not a valid request object.",
) {}
export class MethodNotFoundRpcError extends providerError(
  -32601,
  "MethodNotFoundRpcError",
  "The method does not exist or is not available.",
) {}
export class InvalidParamsRpcError extends providerError(
  -32602,
  "InvalidParamsRpcError",
  "Invalid method parameter(s).",
) {}
export class InternalRpcError extends providerError(-32603, "InternalRpcError", "Internal JSON-RPC error.") {}
export class InvalidInputRpcError extends providerError(
  -32000,
  "InvalidInputRpcError",
  "Missing or invalid parameters.",
) {}
export class ResourceNotFoundRpcError extends providerError(
  -32001,
  "ResourceNotFoundRpcError",
  "Requested resource not found.",
) {}
export class ResourceUnavailableRpcError extends providerError(
  -32002,
  "ResourceUnavailableRpcError",
  "Requested resource not available.",
) {}
export class TransactionRejectedRpcError extends providerError(
  -32003,
  "TransactionRejectedRpcError",
  "Transaction creation failed.",
) {}
export class MethodNotSupportedRpcError extends providerError(
  -32004,
  "MethodNotSupportedRpcError",
  "Method is not implemented.",
) {}
export class LimitExceededRpcError extends providerError(
  -32005,
  "LimitExceededRpcError",
  "Request exceeds defined limit.",
) {}
export class JsonRpcVersionUnsupportedError extends providerError(
  -32006,
  "JsonRpcVersionUnsupportedError",
  "Version of JSON-RPC protocol is not supported.",
) {}

const PROVIDER_ERRORS = [
  UserRejectedRequestError,
  UnauthorizedError,
  UnsupportedMethodError,
  DisconnectedError,
  ChainDisconnectedError,
  UnrecognizedChainError,
  ParseRpcError,
  InvalidRequestRpcError,
  MethodNotFoundRpcError,
  InvalidParamsRpcError,
  InternalRpcError,
  InvalidInputRpcError,
  ResourceNotFoundRpcError,
  ResourceUnavailableRpcError,
  TransactionRejectedRpcError,
  MethodNotSupportedRpcError,
  LimitExceededRpcError,
  JsonRpcVersionUnsupportedError,
] as const;

const PROVIDER_ERROR_BY_CODE = new Map<number, (typeof PROVIDER_ERRORS)[number]>(
  PROVIDER_ERRORS.map((E) => [E.code, E]),
);

/** Rebuilds a typed provider error from its JSON form; unknown codes keep their code in a ProviderRpcError. */
export function providerErrorFromJSON(json: unknown): ProviderRpcError {
  const obj = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const code = Number.isInteger(obj.code) ? (obj.code as number) : InternalRpcError.code;
  const message = typeof obj.message === "string" && obj.message ? obj.message : "Unknown error";
  const E = PROVIDER_ERROR_BY_CODE.get(code);
  return E ? new E(message, obj.data) : new ProviderRpcError(code, message, obj.data);
}

/** Any thrown value → a provider error: provider errors pass through, anything else is internal. */
export function toProviderError(error: unknown): ProviderRpcError {
  if (error instanceof ProviderRpcError) return error;
  if (typeof error === "object" && error !== null && "code" in error && Number.isInteger(error.code)) {
    return providerErrorFromJSON(error);
  }
  return new InternalRpcError(error instanceof Error ? error.message : String(error));
}

/** The relay's stable error codes and the HTTP status each one travels with. */
export const RELAY_ERRORS = {
  invalid_json: 400,
  invalid_field: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  route_not_found: 404,
  method_not_allowed: 405,
  pairing_not_found: 404,
  pairing_exists: 409,
  pairing_answered: 409,
  pairing_expired: 410,
  pairings_locked: 403,
  device_blocked: 403,
  session_not_found: 404,
  session_exists: 409,
  request_not_found: 404,
  request_conflict: 409,
  request_answered: 409,
  request_expired: 410,
  request_cancelled: 410,
  event_conflict: 409,
  too_many_pending: 429,
  rate_limited: 429,
  push_target_refused: 400,
  store_unavailable: 503,
  shutting_down: 503,
  unauthorized: 401,
  internal_error: 500,
  // Client-side only: the relay could not be reached, or answered something that is not the protocol.
  network_error: 0,
  bad_reply: 502,
} as const satisfies Record<string, number>;

export type RelayErrorCode = keyof typeof RELAY_ERRORS;
export type RelayErrorJSON = { error: { code: RelayErrorCode | (string & {}); message: string } };

export class RelayError extends Error {
  override name = "RelayError";
  readonly code: RelayErrorCode | (string & {});
  readonly status: number;
  /** Seconds, from `Retry-After` (429 / 503). */
  readonly retryAfter: number | undefined;
  constructor(
    code: RelayErrorCode | (string & {}),
    message: string,
    options: { status?: number; retryAfter?: number } = {},
  ) {
    super(message);
    this.code = code;
    this.status = options.status ?? (RELAY_ERRORS as Record<string, number>)[code] ?? 500;
    this.retryAfter = options.retryAfter;
  }
  toJSON(): RelayErrorJSON {
    return { error: { code: this.code, message: this.message } };
  }
}

/** A request whose `expiresAt` has passed: the wallet must not act on it (the relay answers 410 too). */
export class RequestExpiredError extends RelayError {
  override name = "RequestExpiredError";
  constructor(message = "The request has expired.") {
    super("request_expired", message);
  }
}

export function isRelayErrorCode(code: unknown): code is RelayErrorCode {
  return typeof code === "string" && Object.hasOwn(RELAY_ERRORS, code);
}
