// GET /v1/admin/users: every user, oldest first, from the user directory (D1 index database 0), with
// each one's shard count as its home shard has it now (shards grow by themselves; the directory
// keeps only what never changes).
import { type Context, Hono } from "hono";
import { decodeCursor, encodeCursor } from "../index-store/cursor";
import { indexDatabase } from "../index-store/databases";
import { type DirectoryPosition, listDirectory } from "../index-store/user-directory";
import { log } from "../log";
import { homeStub } from "../shard/address";
import type { AppEnv } from "./auth";
import { IndexUnavailableError, InvalidRequestError } from "./errors";
import { UserListQuery } from "./schemas";
import { validated } from "./validate";

/** Mounted under /v1/admin/users, behind the admin guard. */
export const directory = new Hono<AppEnv>();

/** What the listing's cursors are bound to: a job listing's cursor is not a directory position. */
const SCOPE = "admin|users";

/** The directory's position in the listing cursor's form (src/index-store/cursor.ts). */
const toCursorPosition = (p: DirectoryPosition) => ({ createdAt: p.createdAt, jobId: p.userId });

/**
 * A page of the directory after `cursor` (signed, bound to `scope`): a tampered or foreign cursor is a
 * 400 naming it, a directory that cannot be read a 503 (logged as `user_directory_failed`).
 */
export async function directoryPage(
  c: Context<AppEnv>,
  scope: string,
  cursor: string | undefined,
  limit: number,
  operation: string,
) {
  const at =
    cursor === undefined ? undefined : await decodeCursor(c.get("secrets").CURSOR_SECRET, scope, cursor);
  if (at === null)
    throw new InvalidRequestError("the cursor is invalid", [
      { path: "cursor", message: "tampered or foreign" },
    ]);
  const after = at && { createdAt: at.createdAt, userId: at.jobId };
  return Promise.resolve()
    .then(() => listDirectory(indexDatabase(c.env, 0), { limit, after }))
    .catch((err: unknown) => {
      log("user_directory_failed", { operation, error: err });
      throw new IndexUnavailableError();
    });
}

directory.get("/", async (c) => {
  const q = validated(UserListQuery, c.req.query(), "bad listing query");
  const secret = c.get("secrets").CURSOR_SECRET;
  const page = await directoryPage(c, SCOPE, q.cursor, q.limit, "list");
  // An entry whose account does not exist is a creation that failed after its listing: left out.
  const accounts = await Promise.all(page.entries.map((e) => homeStub(c.env, e.userId).account()));
  const users = page.entries.flatMap((e, i) => {
    const found = accounts[i];
    if (!found?.ok) return [];
    return [
      {
        user_id: e.userId,
        name: e.name,
        created_at: new Date(e.createdAt).toISOString(),
        shards: found.principal.shards,
      },
    ];
  });
  return c.json({
    users,
    next_cursor: page.next ? await encodeCursor(secret, SCOPE, toCursorPosition(page.next)) : null,
  });
});
