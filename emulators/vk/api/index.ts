/** Every API method the emulator answers, by name. */
import type { MethodTable } from "./context.ts";
import { groupMethods } from "./groups.ts";
import { mediaMethods } from "./media.ts";
import { messageMethods } from "./messages.ts";
import { readMethods } from "./reads.ts";
import { wallMethods } from "./wall.ts";

export const methods: MethodTable = {
  ...groupMethods,
  ...messageMethods,
  ...readMethods,
  ...mediaMethods,
  ...wallMethods,
};
