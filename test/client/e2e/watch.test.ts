// Watching a job end to end, through `npm run dev` and the typed client's watchJob (Node 22's global
// WebSocket, the key as the `bearer.<key>` subprotocol, as a browser sends it): the watcher sees
// scheduled, then queued or running, then succeeded, and the server closes the socket.
import { describe, expect, it } from "vitest";
import { createSchedulerClient, type Job } from "../../../client/src";
import { devFixture } from "../../e2e/dev-fixture";

describe("watchJob against npm run dev", () => {
  const fixture = devFixture({ answer: () => ({ status: 200, afterMs: 1000 }) });

  it("sees the job change until it is finished, then the socket closes", async () => {
    const [server, target] = [fixture.server(), fixture.target()];
    const admin = createSchedulerClient({ baseUrl: server.baseUrl, token: fixture.adminToken });
    const created = await admin.api.POST("/v1/admin/users", { body: { name: "watch-e2e" } });
    const user = created.data;
    if (!user) throw new Error(JSON.stringify(created.error));
    const client = createSchedulerClient({ baseUrl: server.baseUrl, token: user.api_key });
    const job = await client.submit({
      type: "http",
      payload: { url: target.url("/slow") },
      run_at: new Date(Date.now() + 2000).toISOString(),
    });
    const seen: Job[] = [];
    const watch = client.watchJob(job.id, { onJob: (j) => seen.push(j) });
    const last = await Promise.race([
      watch.done,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`no end: saw ${JSON.stringify(seen.map((j) => j.status))}`)),
          30_000,
        ),
      ),
    ]);
    expect(last?.status).toBe("succeeded");
    const statuses = seen.map((j) => j.status);
    expect(statuses[0]).toBe("scheduled");
    expect(statuses.at(-1)).toBe("succeeded");
    // It was seen in flight: queued or running (the call takes a second).
    expect(statuses.some((s) => s === "queued" || s === "running")).toBe(true);
    // Another user cannot watch it: refused before the upgrade.
    const other = (await admin.api.POST("/v1/admin/users", { body: { name: "watch-e2e-other" } })).data;
    if (!other) throw new Error("no second user");
    const stranger = createSchedulerClient({ baseUrl: server.baseUrl, token: other.api_key });
    await expect(stranger.watchJob(job.id, { onJob: () => {} }).done).rejects.toThrow(/refused/);
  });
});
