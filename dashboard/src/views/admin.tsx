// With the admin token: users (GET /v1/admin/users, paged), creating one (its key and signing secret
// are shown once), and per user its keys (issue, revoke) and signing-secret rotation.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { call, describeError } from "../api";
import { ErrorLine, Section, Time } from "../components";
import { usePolling } from "../poll";

interface User {
  user_id: string;
  name: string | null;
  created_at: string;
  shards: number;
}
interface Key {
  key_id: string;
  created_at: string;
  revoked_at: string | null;
}

/** A secret shown once, with what it is. */
interface Revealed {
  what: string;
  value: Record<string, unknown>;
}

function Reveal(props: { revealed: Revealed | null }) {
  if (!props.revealed) return null;
  return (
    <div class="revealed" role="status">
      <strong>{props.revealed.what} (shown once: copy it now)</strong>
      <pre>{JSON.stringify(props.revealed.value, null, 2)}</pre>
    </div>
  );
}

function UserKeys(props: { userId: string; reveal: (r: Revealed) => void }) {
  const keys = usePolling(
    () => call<{ keys: Key[] }>("GET", `/v1/admin/users/${props.userId}/keys`),
    10_000,
    [props.userId],
  );
  const [error, setError] = useState<string | null>(null);

  async function run(what: string, method: string, path: string, body?: unknown) {
    setError(null);
    try {
      const answer = await call<Record<string, unknown>>(
        method,
        `/v1/admin/users/${props.userId}${path}`,
        body,
      );
      if (method === "POST") props.reveal({ what, value: answer });
      keys.refresh();
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <div class="user-keys">
      <ErrorLine error={error ?? keys.error} />
      <table>
        <thead>
          <tr>
            <th>Key</th>
            <th>Created</th>
            <th>Revoked</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(keys.data?.keys ?? []).map((k) => (
            <tr key={k.key_id}>
              <td>{k.key_id}</td>
              <td>
                <Time iso={k.created_at} />
              </td>
              <td>
                <Time iso={k.revoked_at} />
              </td>
              <td>
                {!k.revoked_at && (
                  <button
                    type="button"
                    onClick={() =>
                      confirm(`Revoke key ${k.key_id}? It stops working within seconds.`) &&
                      run("revoked", "DELETE", `/keys/${encodeURIComponent(k.key_id)}`)
                    }
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions">
        <button type="button" onClick={() => run("New API key", "POST", "/keys")}>
          Issue a key
        </button>
        <button type="button" onClick={() => run("New signing secret", "POST", "/signing-secrets", {})}>
          Rotate signing secret (old one valid for a day)
        </button>
      </div>
    </div>
  );
}

export function AdminView() {
  const [cursor, setCursor] = useState<string | null>(null);
  const users = usePolling(
    () =>
      call<{ users: User[]; next_cursor: string | null }>(
        "GET",
        `/v1/admin/users${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`,
      ),
    10_000,
    [cursor],
  );
  const [open, setOpen] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      const created = await call<Record<string, unknown>>(
        "POST",
        "/v1/admin/users",
        name.trim() ? { name: name.trim() } : {},
      );
      setRevealed({ what: "New user", value: created });
      setName("");
      users.refresh();
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <>
      <h1>Users</h1>
      <Reveal revealed={revealed} />
      <form class="inline-form" onSubmit={create}>
        <label>
          New user's name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit">Create user</button>
      </form>
      <ErrorLine error={error ?? users.error} />
      <Section title="All users">
        <table>
          <thead>
            <tr>
              <th>User</th>
              <th>Name</th>
              <th>Created</th>
              <th>Shards</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users.data?.users ?? []).map((u) => (
              <Fragment key={u.user_id}>
                <tr>
                  <td>{u.user_id}</td>
                  <td>{u.name ?? "—"}</td>
                  <td>
                    <Time iso={u.created_at} />
                  </td>
                  <td>{u.shards}</td>
                  <td>
                    <button type="button" onClick={() => setOpen(open === u.user_id ? null : u.user_id)}>
                      {open === u.user_id ? "Hide keys" : "Keys"}
                    </button>
                  </td>
                </tr>
                {open === u.user_id && (
                  <tr>
                    <td colSpan={5}>
                      <UserKeys userId={u.user_id} reveal={setRevealed} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
        <div class="pager">
          <button type="button" disabled={!cursor} onClick={() => setCursor(null)}>
            First page
          </button>
          <button
            type="button"
            disabled={!users.data?.next_cursor}
            onClick={() => setCursor(users.data?.next_cursor ?? null)}
          >
            Next
          </button>
        </div>
      </Section>
    </>
  );
}
