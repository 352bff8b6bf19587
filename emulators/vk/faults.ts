/**
 * Fault injection: make a method (or the upload or Long Poll servers) answer an error, answer
 * late, answer an HTTP status, or drop the connection; once, N times, or always; optionally only
 * for one token or one community.
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { defaultExtra, VkApiError } from "./errors.ts";

export interface FaultInput {
  /** An API method name, `*` for every method, `upload`, or `lp`. */
  target: string;
  token?: string;
  groupId?: number;
  error?: { code: number; detail?: string; extra?: Record<string, unknown> };
  delayMs?: number;
  /** Destroy the socket without answering. */
  drop?: boolean;
  /** Answer this HTTP status with an empty body, as a proxy in the way would (VK itself answers 200). */
  status?: number;
  /** How many requests it hits; ignored with `always`. Default 1. */
  times?: number;
  always?: boolean;
}

export interface Fault extends FaultInput {
  id: number;
  remaining: number | null;
  hits: number;
}

export class Faults {
  readonly #faults: Fault[] = [];
  #nextId = 1;

  add(input: FaultInput): Fault {
    const fault: Fault = {
      ...input,
      id: this.#nextId++,
      remaining: input.always ? null : (input.times ?? 1),
      hits: 0,
    };
    this.#faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return [...this.#faults];
  }

  remove(id: number): boolean {
    const index = this.#faults.findIndex((f) => f.id === id);
    if (index >= 0) this.#faults.splice(index, 1);
    return index >= 0;
  }

  clear() {
    this.#faults.length = 0;
  }

  /** The first fault matching this request, counted as used. */
  take(target: string, scope: { token?: string; groupId?: number }): Fault | undefined {
    const fault = this.#faults.find(
      (f) =>
        (f.target === target || (f.target === "*" && !["upload", "lp"].includes(target))) &&
        (f.token === undefined || f.token === scope.token) &&
        (f.groupId === undefined || f.groupId === scope.groupId),
    );
    if (!fault) return undefined;
    fault.hits += 1;
    if (fault.remaining !== null) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.remove(fault.id);
    }
    return fault;
  }
}

/**
 * Plays a fault: waits, then drops the connection or answers a status (returning the Response to
 * send), throws the VK error, or returns undefined so that the request proceeds.
 */
export async function enact(c: Context, fault: Fault, baseUrl: string): Promise<Response | undefined> {
  if (fault.delayMs) await new Promise((done) => setTimeout(done, fault.delayMs));
  if (fault.drop) {
    const bindings = c.env as Partial<HttpBindings> | undefined;
    bindings?.incoming?.socket.destroy();
    return new Response(null, { status: 500 });
  }
  if (fault.status !== undefined) return new Response(null, { status: fault.status });
  if (fault.error) {
    const { code, detail, extra } = fault.error;
    throw new VkApiError(code, detail, { ...defaultExtra(code, baseUrl), ...extra });
  }
  return undefined;
}
