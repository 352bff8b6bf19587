import type { CatalogueEntry } from "./catalogue.ts";

/** VK's errors, each with the upstream code it mirrors. Part of the one catalogue. */
export const vkEntries = {} satisfies Record<string, CatalogueEntry>;
