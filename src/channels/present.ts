/**
 * A channel as the API shows it, and as `channel.status_changed` events carry it. Credentials
 * never leave the hub: only whether there are any. Catalogued notices kept in the settings
 * (`problem`, `warnings`) are shown in the reader's language, not as raw settings.
 */
import { iso } from "../core/iso.ts";
import { describeError, type ErrorParams } from "../errors/app-error.ts";
import { catalogue, type ErrorCode, type Language } from "../errors/catalogue.ts";
import type { ChannelAccount } from "../store/repositories/channel-accounts.ts";
import { vkSettingsSchema } from "./vk/channel.ts";

interface Notice {
  code: string;
  params?: ErrorParams;
}

const isNotice = (value: unknown): value is Notice =>
  typeof value === "object" && value !== null && typeof (value as Notice).code === "string";

function renderNotice(notice: Notice, language: Language) {
  if (!Object.hasOwn(catalogue, notice.code)) return { code: notice.code, message: notice.code, remedy: "" };
  return { code: notice.code, ...describeError(notice.code as ErrorCode, language, notice.params ?? {}) };
}

export const presentChannel = (a: ChannelAccount, language: Language = "en") => {
  const { problem, warnings, ...settings } = a.settings;
  const vk = a.kind === "vk" ? vkSettingsSchema.safeParse(a.settings) : undefined;
  const stateProblem =
    isNotice(problem) && (a.state === "connecting" || a.state === "failing")
      ? renderNotice(problem, language)
      : undefined;
  return {
    id: a.id,
    kind: a.kind,
    external_id: a.externalId,
    name: a.name,
    mode: vk?.success ? vk.data.mode : typeof settings.mode === "string" ? settings.mode : null,
    webhook_url:
      vk?.success && vk.data.mode === "callback" && a.credentials !== null
        ? (vk.data.callbackUrl ?? null)
        : null,
    state: a.state,
    state_code: stateProblem?.code ?? null,
    state_reason: stateProblem?.message ?? a.stateReason,
    state_remedy: stateProblem?.remedy ?? null,
    state_changed_at: iso(a.stateChangedAt) as string,
    last_event_at: iso(a.lastEventAt),
    warnings: Array.isArray(warnings) ? warnings.filter(isNotice).map((w) => renderNotice(w, language)) : [],
    has_credentials: a.credentials !== null,
    settings,
    limits: a.limits,
    created_at: iso(a.createdAt) as string,
    updated_at: iso(a.updatedAt) as string,
  };
};
