// Who is signed in. The credential lives in this tab's sessionStorage only: it is gone when the tab
// closes and is never written anywhere else.
import { computed, signal } from "@preact/signals";

export type Role = "user" | "admin";
export interface Session {
  token: string;
  role: Role;
}

const STORAGE_KEY = "scheduler.session";

function restore(): Session | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Session | null;
    return saved && typeof saved.token === "string" && (saved.role === "user" || saved.role === "admin")
      ? saved
      : null;
  } catch {
    return null;
  }
}

export const session = signal<Session | null>(restore());
export const role = computed(() => session.value?.role ?? null);

export function signIn(next: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  session.value = next;
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  session.value = null;
}

/** API keys name their user (sk_usr_…); anything else is taken for the admin token. */
export function roleOfToken(token: string): Role {
  return token.startsWith("sk_usr_") ? "user" : "admin";
}
