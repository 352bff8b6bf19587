// Regenerates the parts of the docs that come from code: docs/errors.md and the README's
// settings table. Tests fail when the committed files differ from what this writes.
import { readFileSync, writeFileSync } from "node:fs";
import { withSettingsTable } from "../src/config/settings-doc.ts";
import { renderCatalogueMarkdown } from "../src/errors/catalogue-doc.ts";

writeFileSync("docs/errors.md", renderCatalogueMarkdown());
writeFileSync("README.md", withSettingsTable(readFileSync("README.md", "utf8")));
process.stdout.write("docs/errors.md and the README settings table written\n");
