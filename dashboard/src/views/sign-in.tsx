// Sign in with an API key (the user's jobs) or the admin token (users and keys). The credential is
// checked against the API before it is kept.
import { useState } from "preact/hooks";
import { ApiError, call, describeError } from "../api";
import { navigate, route } from "../router";
import { roleOfToken, signIn } from "../session";

async function check(token: string): Promise<void> {
  const role = roleOfToken(token);
  if (role === "user") {
    await call("GET", "/v1/jobs?limit=1", undefined, token);
    return;
  }
  try {
    await call("GET", "/v1/admin/users", undefined, token);
  } catch (err) {
    // The admin guard answers 401 before any admin route, so any other answer means the token is good.
    if (err instanceof ApiError && err.status === 401) throw err;
  }
}

export function SignInView() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const trimmed = token.trim();
    if (!trimmed) return;
    setBusy(true);
    setError(null);
    try {
      await check(trimmed);
      const role = roleOfToken(trimmed);
      signIn({ token: trimmed, role });
      // A deep link opened in a new tab stays where it points; the bare /dashboard/ goes to the start page.
      if (route.value === "/" || role === "admin") navigate(role === "admin" ? "/admin" : "/overview", true);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "That key or token was not accepted."
          : describeError(err),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="sign-in">
      <h1>edge-scheduler</h1>
      <form onSubmit={submit}>
        <label>
          API key or admin token
          <input
            type="password"
            autocomplete="off"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            placeholder="sk_usr_… or the ADMIN_TOKEN"
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && <p class="error">{error}</p>}
        <p class="hint">Kept in this browser tab only, until you sign out or close it.</p>
      </form>
    </main>
  );
}
