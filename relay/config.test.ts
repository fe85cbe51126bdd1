import { describe, expect, it } from "vitest";
import { ConfigError, defaultConfig, helpText, OPTIONS, parseConfig } from "./config.ts";

describe("parseConfig", () => {
  it("has the documented defaults", () => {
    expect(defaultConfig()).toMatchObject({
      host: "127.0.0.1",
      port: 8787,
      store: "journal",
      dataDir: "./data",
      maxBodyBytes: 65536,
      maxWait: 30,
      maxPairingTtl: 600,
      maxRequestTtl: 3600,
      sessionIdleTtl: 30 * 24 * 3600,
      corsOrigins: "*",
      pushAllowHosts: [],
      pushAllowPrivate: false,
      logLevel: "info",
    });
  });

  it("takes flags over env over defaults, in both --flag value and --flag=value forms", () => {
    const config = parseConfig({
      argv: [
        "--port",
        "0",
        "--store=memory",
        "--push-allow-private",
        "--cors-origin",
        "chrome-extension://a,https://b",
      ],
      env: {
        BB_RELAY_PORT: "9000",
        BB_RELAY_HOST: "0.0.0.0",
        BB_RELAY_PUSH_ALLOW_HOSTS: "wallet.lan, 10.0.0.2",
      },
    });
    expect(config).toMatchObject({
      port: 0,
      host: "0.0.0.0",
      store: "memory",
      pushAllowPrivate: true,
      pushAllowHosts: ["wallet.lan", "10.0.0.2"],
      corsOrigins: ["chrome-extension://a", "https://b"],
    });
    expect(parseConfig({ argv: ["--push-allow-private=false"] }).pushAllowPrivate).toBe(false);
    expect(parseConfig({ argv: ["--trust-proxy", "loopback"] }).trustProxy).toBe("loopback");
    expect(parseConfig({ argv: ["--trust-proxy", "1"] }).trustProxy).toBe(1);
  });

  it.each([
    [["--bogus"], /unknown option --bogus/],
    [["--port"], /--port needs a value/],
    [["--port", "--store"], /--port needs a value/],
    [["--port", "70000"], /--port/],
    [["--store", "redis"], /--store/],
    [["--max-wait", "31"], /--max-wait/],
    [["--max-pairing-ttl", "601"], /--max-pairing-ttl/],
    [["--rate-limit", "-1"], /--rate-limit/],
    [["--log-level", "loud"], /--log-level/],
    [["positional"], /unexpected argument/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseConfig({ argv })).toThrow(ConfigError);
    expect(() => parseConfig({ argv })).toThrow(message);
  });

  it("names the environment variable when an env value is bad", () => {
    expect(() => parseConfig({ env: { BB_RELAY_MAX_BODY: "lots" } })).toThrow(/BB_RELAY_MAX_BODY/);
  });

  it("documents every option in --help", () => {
    const help = helpText();
    for (const o of OPTIONS) {
      expect(help).toContain(o.flag);
      expect(help).toContain(o.env);
    }
  });
});
