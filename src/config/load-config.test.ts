import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppError } from "../errors/app-error.ts";
import { scratchDir } from "../testing/scratch-dir.ts";
import { loadConfig } from "./load-config.ts";

const failsWith = (run: () => unknown, code: string, check: (error: AppError) => void = () => {}) =>
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    check(error);
    return true;
  });

const file = (content: string) => {
  const path = join(scratchDir("sb-config-"), "switchboard.json");
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

  it("takes a command's own defaults below flags, environment and file", () => {
    const defaults = { logLevel: "warn" };
    assert.equal(loadConfig({ env: {}, defaults }).logLevel, "warn");
    assert.equal(loadConfig({ env: { SWITCHBOARD_LOG_LEVEL: "debug" }, defaults }).logLevel, "debug");
    assert.equal(loadConfig({ env: {}, flags: { logLevel: "error" }, defaults }).logLevel, "error");
    const path = file(JSON.stringify({ logLevel: "info" }));
    assert.equal(loadConfig({ env: {}, configFile: path, defaults }).logLevel, "info");
    assert.equal(loadConfig({ env: {} }).logLevel, "info");
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

  it("takes only a country libphonenumber knows, from flags, environment and file alike", () => {
    assert.equal(loadConfig({ env: { SWITCHBOARD_DEFAULT_COUNTRY: "KZ" } }).defaultCountry, "KZ");
    const xx = (error: AppError) =>
      assert.match(
        error.message,
        /^Setting `defaultCountry` \(from .*\) has the value "XX": expected .*ISO 3166/,
      );
    failsWith(() => loadConfig({ env: {}, flags: { defaultCountry: "XX" } }), "config_invalid", xx);
    failsWith(() => loadConfig({ env: { SWITCHBOARD_DEFAULT_COUNTRY: "XX" } }), "config_invalid", xx);
    failsWith(
      () => loadConfig({ env: {}, configFile: file('{"defaultCountry": "XX"}') }),
      "config_invalid",
      xx,
    );
    failsWith(() => loadConfig({ env: { SWITCHBOARD_DEFAULT_COUNTRY: "ru" } }), "config_invalid");
  });

  it("takes egress entries that are host names, IP addresses or CIDR ranges, and no empty entry", () => {
    assert.deepEqual(
      loadConfig({
        env: { SWITCHBOARD_EGRESS_ALLOW: " 10.0.0.0/8, crm.internal,127.0.0.1,fd00::/8,::1, my_db " },
      }).egressAllow,
      ["10.0.0.0/8", "crm.internal", "127.0.0.1", "fd00::/8", "::1", "my_db"],
    );
    assert.deepEqual(loadConfig({ env: {}, flags: { egressAllow: "" } }).egressAllow, []);
    const refused = (value: string, shown: RegExp) => {
      for (const sources of [
        { env: {}, flags: { egressAllow: value } },
        { env: { SWITCHBOARD_EGRESS_ALLOW: value } },
        { env: {}, configFile: file(JSON.stringify({ egressAllow: value })) },
      ])
        failsWith(
          () => loadConfig(sources),
          "config_invalid",
          (error) => assert.match(error.message, new RegExp(`^Setting \`egressAllow\` .*${shown.source}`)),
        );
    };
    refused("999.1.1.1/99", /has the value "999\.1\.1\.1\/99": expected/);
    refused("10.0.0.0/33", /"10\.0\.0\.0\/33"/);
    refused("fd00::/129", /"fd00::\/129"/);
    refused("999.1.1.1", /"999\.1\.1\.1"/);
    refused("crm.internal/8", /"crm\.internal\/8"/);
    refused("-bad-.example", /"-bad-\.example"/);
    refused(",,,", /has the value ",,," \(entry 1 is empty\): expected/);
    refused("10.0.0.0/8,,crm.internal", /\(entry 2 is empty\)/);
    refused("10.0.0.0/8,", /\(entry 2 is empty\)/);
    refused("10.0.0.0/8, 1.2.3.4/40", /"10\.0\.0\.0\/8, 1\.2\.3\.4\/40" \(entry 2, "1\.2\.3\.4\/40"\)/);
    failsWith(
      () => loadConfig({ env: {}, configFile: file('{"egressAllow": ["10.0.0.0/8", ""]}') }),
      "config_invalid",
      (error) => assert.match(error.message, /\(entry 2 is empty\)/),
    );
    // The Russian text names the entry in Russian.
    failsWith(
      () => loadConfig({ env: { SWITCHBOARD_EGRESS_ALLOW: "a,," } }),
      "config_invalid",
      (error) => assert.match(error.render("ru").message, /\(элемент 2 пустой\)/),
    );
  });

  it("refuses an empty entry in any list, such as the retry schedule", () => {
    assert.deepEqual(
      loadConfig({ env: { SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE: "5, 300" } }).webhookRetrySchedule,
      [5, 300],
    );
    failsWith(
      () => loadConfig({ env: { SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE: "5,,300" } }),
      "config_invalid",
      (error) => assert.match(error.message, /`webhookRetrySchedule`.*\(entry 2 is empty\)/),
    );
  });

  it("takes a host to listen on only if it is an IP address or a host name", () => {
    for (const host of ["0.0.0.0", "127.0.0.1", "::", "::1", "localhost", "hub.example.internal"])
      assert.equal(loadConfig({ env: {}, flags: { host } }).host, host);
    for (const host of ["999.999.1.1", "1.2.3", "[::1]", "hub..example", "-hub", "a b"])
      failsWith(
        () => loadConfig({ env: {}, flags: { host } }),
        "config_invalid",
        (error) => assert.match(error.message, /^Setting `host` \(from flag --host\) has the value/),
      );
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
      (error) => {
        assert.match(error.message, /unknown setting "prot"/);
        // The remedy says what the file should hold, not only that it should be readable.
        assert.match(error.render("en").remedy, /JSON object whose keys are settings .*`port`/);
      },
    );
    failsWith(
      () => loadConfig({ env: {}, configFile: file('{"port": "x"}') }),
      "config_invalid",
      (error) => assert.match(error.message, /from config file/),
    );
  });
});
