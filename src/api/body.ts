// Reading a JSON request body: the media type is checked (415), the size is capped while the body
// streams in (413, with or without Content-Length), and malformed JSON is a 400.
import type { Context } from "hono";
import { invalidRequest, payloadTooLarge, unsupportedMediaType } from "./errors";

export const MAX_BODY_BYTES = 128 * 1024;

function isJsonMediaType(header: string | undefined): boolean {
  const type = header?.split(";")[0]?.trim().toLowerCase();
  return type === "application/json" || (type?.startsWith("application/") === true && type.endsWith("+json"));
}

async function readCapped(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw payloadTooLarge(`the request body exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** The parsed JSON body, or `undefined` when the request has no body and `optional` is set. */
export async function readJson(c: Context, options: { optional?: boolean } = {}): Promise<unknown> {
  const declared = c.req.header("content-length");
  const body = c.req.raw.body;
  if (!body || declared === "0") {
    if (options.optional) return undefined;
    throw invalidRequest("a JSON request body is required");
  }
  if (!isJsonMediaType(c.req.header("content-type"))) throw unsupportedMediaType();
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
    throw payloadTooLarge(`the request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const bytes = await readCapped(body, MAX_BODY_BYTES);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalidRequest("the request body is not valid UTF-8");
  }
  if (text.trim() === "" && options.optional) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest("the request body is not valid JSON");
  }
}
