/**
 * The extension's fixed identity. `EXTENSION_KEY` is the public half of an RSA key generated once
 * (the private half was discarded: it only signs .crx packages, which we do not ship); Chrome derives
 * the id from it: sha256(DER public key), first 16 bytes, hex digits 0-f mapped to a-p. So every
 * build, in every profile, loads as the same extension and tests and docs can name it.
 */
export const EXTENSION_KEY =
  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5UQcMhIY7KGxnJMoRjTfUIqSxUga4lTgbBC1XoxTWU4j/avTaApLXhJgU88FDrff9o3Mz1KW/cCdHac0I35ZOHSwmOykFVhvKs/JDvso38jt6lE+j78dQljTlS7B4kNa0OsXZL9kUAC3OGJz4TNmqzsUDL2r+WzA6Yv8a0DJ7nGvBuqqv0Bv4JnOl0VYJZ6yHw9S9+p+W1pbGcwT8Jl9P5us9vCfaOrASdTY5/MyeZFeB8GNZcWRp7SSbrT6xtOdRBGVv9thtu1/9WpA1xVN4su5tGkspuv90ImD4OCmjin8TnV6gg1o/ukzTPSA4stvoEEBM+rQEtsc3QmZkiozYwIDAQAB";

export const EXTENSION_ID = "fmnimmajkfnhflnjhbneacdkmogmgbpd";

/** Paths of the extension's pages inside dist/ (as built from extension/). */
export const PAGES = {
  popup: "extension/popup/popup.html",
  options: "extension/options/options.html",
  connect: "extension/connect/connect.html",
} as const;
