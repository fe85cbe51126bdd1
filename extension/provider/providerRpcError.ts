/**
 * EIP-1193 §Errors: every rejection is an Error with a numeric `code`, a `message` and optional `data`.
 * A deliberately small copy of protocol/errors.ts's ProviderRpcError: the page only needs the shape,
 * and the MAIN-world script must stay tiny and self-contained.
 */
export class ProviderRpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "ProviderRpcError";
    this.code = code;
    this.data = data;
  }
}
