/** The hub's version, as `switchboard --version` and the OpenAPI document give it. */
export const apiVersion = "0.1.0";
