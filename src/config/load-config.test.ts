import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppError } from "../errors/app-error.ts";
import { loadConfig } from "./load-config.ts";

const failsWith = (run: () => unknown, code: string, check: (error: AppError) => void = () => {}) =>
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    check(error);
    return true;
  });

const file = (content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "sb-config-")), "switchboard.json");
  writeFileSync(path, content);
  return path;
};

describe("configuration", () => {
  it("has working defaults", () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.port, 8080);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.dataDir, "./data");
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.defaultCountry, "RU");
  });

  it("takes flags over environment over file over defaults", () => {
    const path = file(JSON.stringify({ port: 7000, host: "0.0.0.0", logLevel: "warn" }));
    const config = loadConfig({
      env: { SWITCHBOARD_PORT: "7100", SWITCHBOARD_HOST: "10.0.0.1", SWITCHBOARD_CONFIG: path },
      flags: { port: "7200" },
    });
    assert.equal(config.port, 7200);
    assert.equal(config.host, "10.0.0.1");
    assert.equal(config.logLevel, "warn");
  });

  it("treats an empty environment variable as unset", () => {
    assert.equal(loadConfig({ env: { SWITCHBOARD_PORT: "" } }).port, 8080);
  });

  it("names the setting, its source, the bad value and what is expected", () => {
    failsWith(
      () => loadConfig({ env: { SWITCHBOARD_PORT: "eighty" } }),
      "config_invalid",
      (error) => {
        assert.equal(
          error.message,
          'Setting `port` (from environment variable SWITCHBOARD_PORT) has the value "eighty": expected an integer from 0 to 65535.',
        );
        assert.deepEqual(error.details[0]?.path, "port");
      },
    );
    failsWith(
      () => loadConfig({ env: {}, flags: { port: "70000" } }),
      "config_invalid",
      (error) => assert.match(error.message, /flag --port/),
    );
    failsWith(() => loadConfig({ env: { SWITCHBOARD_LOG_LEVEL: "loud" } }), "config_invalid");
    failsWith(() => loadConfig({ env: { DATABASE_URL: "mysql://x" } }), "config_invalid");
    failsWith(() => loadConfig({ env: { SWITCHBOARD_PUBLIC_URL: "ftp://x" } }), "config_invalid");
    failsWith(() => loadConfig({ env: { SWITCHBOARD_DEFAULT_COUNTRY: "russia" } }), "config_invalid");
  });

  it("takes the role api only with a PostgreSQL server", () => {
    assert.equal(loadConfig({ env: {} }).role, "all");
    assert.equal(
      loadConfig({ env: { SWITCHBOARD_ROLE: "api", DATABASE_URL: "postgres://h/db" } }).role,
      "api",
    );
    failsWith(
      () => loadConfig({ env: {}, flags: { role: "api" } }),
      "config_invalid",
      (error) => assert.match(error.message, /`role` \(from flag --role\).*needs DATABASE_URL/),
    );
    failsWith(() => loadConfig({ env: { SWITCHBOARD_ROLE: "workers" } }), "config_invalid");
  });

  it("never prints a secret value back", () => {
    failsWith(
      () => loadConfig({ env: { SWITCHBOARD_SECRET_KEY: "too-short-secret" } }),
      "config_invalid",
      (error) => {
        assert.ok(!error.message.includes("too-short-secret"));
        assert.match(error.message, /hidden, 16 characters/);
      },
    );
    const key = Buffer.alloc(32, 7).toString("base64");
    assert.equal(loadConfig({ env: { SWITCHBOARD_SECRET_KEY: key } }).secretKey, key);
  });

  it("refuses a config file that is missing, not JSON, not an object or has unknown settings", () => {
    failsWith(
      () => loadConfig({ env: {}, configFile: "/nonexistent/switchboard.json" }),
      "config_file_unreadable",
    );
    failsWith(
      () => loadConfig({ env: {}, configFile: file("{port: 1") }),
      "config_file_unreadable",
      (error) => assert.match(error.message, /not valid JSON/),
    );
    failsWith(() => loadConfig({ env: {}, configFile: file("[1]") }), "config_file_unreadable");
    failsWith(
      () => loadConfig({ env: {}, configFile: file('{"prot": 1}') }),
      "config_file_unreadable",
      (error) => assert.match(error.message, /unknown setting "prot"/),
    );
    failsWith(
      () => loadConfig({ env: {}, configFile: file('{"port": "x"}') }),
      "config_invalid",
      (error) => assert.match(error.message, /from config file/),
    );
  });
});
