// Opaque, tamper-evident listing cursors: the keyset position, MACed with a server secret and bound
// to the user and filters it was issued for. Any change to it fails verification.
import { base64url, constantTimeEqual } from "../core/ids";

export interface Position {
  createdAt: number;
  jobId: string;
}

async function hmac(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message));
  return base64url(new Uint8Array(mac).slice(0, 16));
}

function fromBase64url(text: string): string {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  return atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

export async function encodeCursor(secret: string, scope: string, at: Position): Promise<string> {
  const body = base64url(new TextEncoder().encode(JSON.stringify([at.createdAt, at.jobId])));
  return `${body}.${await hmac(secret, `${scope}|${body}`)}`;
}

/** The position a cursor names, or null if it was not issued by us for this scope. */
export async function decodeCursor(secret: string, scope: string, cursor: string): Promise<Position | null> {
  const [body, mac, extra] = cursor.split(".");
  if (!body || !mac || extra !== undefined || cursor.length > 512) return null;
  const expected = await hmac(secret, `${scope}|${body}`);
  if (!constantTimeEqual(expected, mac)) return null;
  try {
    const [createdAt, jobId] = JSON.parse(fromBase64url(body)) as unknown[];
    if (typeof createdAt !== "number" || typeof jobId !== "string") return null;
    return { createdAt, jobId };
  } catch {
    return null;
  }
}
