import type { Logger } from "pino";
import type { Config } from "../config/settings.ts";
import type { Language } from "../errors/catalogue.ts";
import type { Egress } from "../net/egress.ts";
import type { SendService } from "../pipeline/send/service.ts";
import type { Store } from "../store/database.ts";
import type { ApiKey } from "../store/repositories/api-keys.ts";
import type { SecretBox } from "../store/secret-box.ts";

/** What every part of the HTTP layer is built from. */
export interface AppDeps {
  config: Config;
  store: Store;
  box: SecretBox;
  logger: Logger;
  /** The SSRF guard for addresses users give (webhook endpoints). */
  egress: Egress;
  /** Sends through the channels; made from the deps above when absent. */
  sender?: SendService;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    language: Language;
    /** The authenticated key; set on every `/v1` route. */
    apiKey: ApiKey;
    /** Set by the revoke route, so that this process's key cache drops the key at once. */
    revokedKeyId?: string;
  };
}
