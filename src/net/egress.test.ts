import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../config/load-config.ts";
import { Egress } from "./egress.ts";

/** Why `url` would be refused, in English, or "allowed". */
const verdict = async (egress: Egress, url: string) =>
  (await egress.refusalOf(new URL(url)))?.en ?? "allowed";

describe("Egress allow list", () => {
  it("allows the addresses, ranges and names egressAllow lists, read as the settings read them", async () => {
    const { egressAllow } = loadConfig({
      env: { SWITCHBOARD_EGRESS_ALLOW: "10.1.0.0/16, 192.168.1.5, LOCALHOST, fd00::/8, ::1" },
    });
    const egress = new Egress({ allow: egressAllow });
    assert.deepEqual(
      await Promise.all(
        [
          "http://10.1.2.3/",
          "http://10.2.0.1/",
          "http://192.168.1.5/",
          "http://192.168.1.6/",
          "http://[fd00::1]/",
          "http://[fe80::1]/",
          "http://[::1]/",
          // A name is matched whatever its case, and allows whatever it resolves to.
          "http://localhost/",
          "http://127.0.0.1/",
        ].map((url) => verdict(egress, url)),
      ),
      [
        "allowed",
        "10.2.0.1 is not a public address",
        "allowed",
        "192.168.1.6 is not a public address",
        "allowed",
        "fe80::1 is not a public address",
        "allowed",
        "allowed",
        "127.0.0.1 is not a public address",
      ],
    );
  });

  it("cannot be made from an entry the settings refuse", () => {
    for (const entry of ["999.1.1.1/99", "10.0.0.0/33", "crm.internal/8", "-bad-.example", ""]) {
      assert.throws(() => loadConfig({ env: { SWITCHBOARD_EGRESS_ALLOW: `10.0.0.0/8,${entry}` } }));
      assert.throws(
        () => new Egress({ allow: [entry] }),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message === `Not a host name, IP address or CIDR range: "${entry}"`,
      );
    }
  });
});
