/**
 * Templates for the send pipeline: a workspace's template by name, rendered for the channel kinds
 * of a message's routes. The rules themselves (syntax, variables, fallback) are in
 * src/core/template.ts; this module only adds the store.
 */
import {
  type RenderedTemplate,
  renderTemplate,
  resolveTemplateData,
  templateBodyFor,
} from "../../core/template.ts";
import { AppError } from "../../errors/app-error.ts";
import type { ChannelKind } from "../../store/repositories/channel-accounts.ts";
import type { Template } from "../../store/repositories/templates.ts";

/**
 * Renders a template for each of `kinds` that it has a body for (its own or the fallback); kinds
 * without one are left out, so their routes cannot carry the message (as Devino skips a network
 * the template does not name). Throws `template_not_found`, the data's errors
 * (`template_variable_unknown`, `..._invalid`, `..._missing`, with every problem in `details`
 * under `dataPath`), and `template_no_body` when none of `kinds` has a body.
 */
export function renderForKinds(
  template: Template,
  data: Record<string, unknown>,
  kinds: readonly ChannelKind[],
  dataPath = "data",
): Partial<Record<ChannelKind, RenderedTemplate<Record<string, unknown>>>> {
  // The data is checked even when no kind can use the template: its errors are the caller's to fix first.
  resolveTemplateData(template, data, { dataPath });
  const renders: Partial<Record<ChannelKind, RenderedTemplate<Record<string, unknown>>>> = {};
  for (const kind of kinds) {
    if (templateBodyFor(template, kind)) renders[kind] = renderTemplate(template, kind, data, { dataPath });
  }
  if (kinds.length > 0 && Object.keys(renders).length === 0) {
    throw new AppError("template_no_body", { template: template.name, kind: kinds.join(", ") });
  }
  return renders;
}
