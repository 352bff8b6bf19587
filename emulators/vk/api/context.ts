/**
 * What a method handler receives: typed parameter readers that fail the way VK does (error 100 with
 * `<name> is undefined`, `<name> not integer`, …), the caller's token and community, and the
 * running emulator. Also the access checks every method family shares.
 */
import { VkApiError } from "../errors.ts";
import type { Community, Scope, Token } from "../model.ts";
import type { Runtime } from "../runtime.ts";

export class Params {
  constructor(readonly raw: Readonly<Record<string, string>>) {}

  has(name: string): boolean {
    return (this.raw[name] ?? "") !== "";
  }

  string(name: string, options: { required?: boolean; maxLength?: number } = {}): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === "") {
      if (options.required) throw missing(name);
      return undefined;
    }
    if (options.maxLength !== undefined && [...value].length > options.maxLength) {
      throw new VkApiError(100, `${name} should be shorter than ${options.maxLength + 1} characters`);
    }
    return value;
  }

  requiredString(name: string, options: { maxLength?: number } = {}): string {
    return this.string(name, { ...options, required: true }) as string;
  }

  int(name: string, options: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const value = this.string(name, options);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value.trim())) throw new VkApiError(100, `${name} not integer`);
    const number = Number(value.trim());
    if (!Number.isSafeInteger(number)) throw new VkApiError(100, `${name} not integer`);
    if (
      (options.min !== undefined && number < options.min) ||
      (options.max !== undefined && number > options.max)
    ) {
      throw new VkApiError(100, `${name} is invalid`);
    }
    return number;
  }

  requiredInt(name: string, options: { min?: number; max?: number } = {}): number {
    return this.int(name, { ...options, required: true }) as number;
  }

  /** An int64 kept exact as a decimal string (random_id). */
  int64(name: string): string | undefined {
    const value = this.string(name)?.trim();
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) throw new VkApiError(100, `${name} not integer`);
    const big = BigInt(value);
    if (big > 9223372036854775807n || big < -9223372036854775808n)
      throw new VkApiError(100, `${name} not integer`);
    return big.toString();
  }

  bool(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value === "1" || value === "true") return true;
    if (value === "0" || value === "false") return false;
    throw new VkApiError(100, `${name} should be 0 or 1`);
  }

  /** A comma-separated list. */
  list(name: string, options: { max?: number } = {}): string[] {
    const value = this.string(name);
    if (value === undefined) return [];
    const items = value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (options.max !== undefined && items.length > options.max) {
      throw new VkApiError(100, `${name} is too long`);
    }
    return items;
  }

  ints(name: string, options: { max?: number } = {}): number[] {
    return this.list(name, options).map((item) => {
      if (!/^-?\d+$/.test(item) || !Number.isSafeInteger(Number(item))) {
        throw new VkApiError(100, `${name} not integer`);
      }
      return Number(item);
    });
  }
}

export const missing = (name: string) => new VkApiError(100, `${name} is undefined`);

export interface MethodContext {
  method: string;
  params: Params;
  token: Token;
  community: Community;
  /** The `v` of the call. */
  v: string;
  runtime: Runtime;
}

export type MethodHandler = (ctx: MethodContext) => unknown | Promise<unknown>;
export type MethodTable = Readonly<Record<string, MethodHandler>>;

/** A token without the right: "Access denied: no access to call this method" (observed text). */
export function requireScope(ctx: MethodContext, scope: Scope) {
  if (!ctx.token.scopes.has(scope)) {
    throw new VkApiError(ctx.runtime.options.accessErrors.missingScope, "no access to call this method");
  }
}

/** `group_id` is required and must be the token's own community. */
export function requireOwnGroup(ctx: MethodContext, name = "group_id"): Community {
  const groupId = ctx.params.requiredInt(name);
  if (Math.abs(groupId) !== ctx.community.id) {
    throw new VkApiError(ctx.runtime.options.accessErrors.foreignGroup, "no access to call this method");
  }
  return ctx.community;
}

/** `group_id` may be given (community methods of messages.*); if given it must be the token's. */
export function optionalOwnGroup(ctx: MethodContext) {
  if (ctx.params.has("group_id")) requireOwnGroup(ctx);
}
