// What an http job's payload may contain, checked at submit (400) and again before each attempt.
import { z } from "zod";
import { JsonValue } from "../core/job";
import { targetError } from "./target";

// Framing headers belong to the runtime; letting users set them only produces broken requests.
const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade"]);

const urlSchema = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const { protocol } = new URL(s);
      return protocol === "https:" || protocol === "http:";
    } catch {
      return false;
    }
  }, "must be an absolute http(s) URL");

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, "invalid header name")
  .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), "this header is set by the runtime");
// Visible Latin-1 and tab only: CR/LF would be header injection, and Headers rejects the rest anyway.
const headerValue = z
  .string()
  .max(8192)
  .regex(/^[\t\x20-\x7e\x80-\xff]*$/, "invalid header value");

export const httpPayloadSchema = z
  .object({
    url: urlSchema,
    method: z.enum(["POST", "PUT", "PATCH", "GET", "DELETE"]).optional(),
    headers: z
      .record(headerName, headerValue)
      .refine((h) => Object.keys(h).length <= 64, "at most 64 headers")
      .optional(),
    body: JsonValue.optional(),
  })
  .strict()
  // fetch refuses a GET with a body, so catch it at submit rather than on every attempt.
  .refine((p) => p.method !== "GET" || p.body === undefined, {
    message: "GET requests cannot have a body",
    path: ["body"],
  });

export type HttpPayload = z.infer<typeof httpPayloadSchema>;

/** For the API at submit: why this payload's target is refused, or null. */
export function httpPayloadTargetError(payload: unknown, allowPrivate: boolean): string | null {
  const parsed = httpPayloadSchema.safeParse(payload);
  if (!parsed.success) return z.prettifyError(parsed.error);
  return targetError(parsed.data.url, allowPrivate);
}
