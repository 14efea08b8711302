// The signing secrets of the users in one consumer batch. They live on each user's home shard: a begin
// there answers them at no cost; for attempts and callbacks of other shards they are asked of the
// home shard, at most once per user per batch, and shared by every message of that user.
import type { Env } from "../env";
import { homeStub } from "../shard/address";

export class BatchSecrets {
  private readonly byUser = new Map<string, Promise<string[]>>();

  constructor(private readonly env: Env) {}

  /**
   * The user's live secrets, newest first. `answered`: what the shard's begin answered (only a home
   * shard has them; empty elsewhere). Rejects when the home shard cannot be reached, so the message
   * is retried and nothing is sent unsigned.
   */
  of(userId: string, answered: string[]): Promise<string[]> {
    const known = this.byUser.get(userId);
    if (known) return known;
    const secrets =
      answered.length > 0 ? Promise.resolve(answered) : homeStub(this.env, userId).signingSecrets();
    this.byUser.set(userId, secrets);
    // A failed ask is not kept: a later message of the batch asks again.
    secrets.catch(() => this.byUser.delete(userId));
    return secrets;
  }
}
