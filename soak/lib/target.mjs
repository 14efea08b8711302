// The webhook target: a node:http server on 127.0.0.1 that records every delivery (webhook-id, path,
// arrival time, what it answered, whether the caller hung up first, whether the Standard Webhooks
// signature verifies) and answers by path:
//   /ok    200 at once
//   /fail  500 always
//   /hang  answers 200 only after `hangMs` (longer than the job's timeout, so the executor gives up);
//          bounded: the timer always fires or is cleared on close.
// It lives in the soak process, so it keeps counting across the server's crashes.
import { once } from "node:events";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

export async function startTarget({ port, hangMs, secretOf }) {
  const deliveries = [];
  const timers = new Set();
  let open = 0;
  const verifiers = new Map();
  const verify = (user, body, headers) => {
    const secret = secretOf(user);
    if (!secret) return null;
    let v = verifiers.get(secret);
    if (!v) {
      v = new Webhook(secret);
      verifiers.set(secret, v);
    }
    try {
      v.verify(body, {
        "webhook-id": headers["webhook-id"],
        "webhook-timestamp": headers["webhook-timestamp"],
        "webhook-signature": headers["webhook-signature"],
      });
      return true;
    } catch {
      return false;
    }
  };

  const server = createServer(async (req, res) => {
    const at = Date.now();
    open++;
    const chunks = [];
    try {
      for await (const chunk of req) chunks.push(chunk);
    } catch {
      // caller went away mid-body; still a delivery attempt
    }
    const body = Buffer.concat(chunks).toString("utf8");
    const wid = String(req.headers["webhook-id"] ?? "");
    const cut = wid.lastIndexOf(":");
    let meta = {};
    try {
      meta = JSON.parse(body);
    } catch {
      // not ours
    }
    const route = (req.url ?? "").split("?")[0];
    const rec = {
      wid,
      jobId: cut > 0 ? wid.slice(0, cut) : wid,
      occurrence: cut > 0 ? Number(wid.slice(cut + 1)) : null,
      index: typeof meta.j === "number" ? meta.j : null,
      route,
      at,
      status: null,
      answeredAt: null,
      hungUp: false,
      signature: verify(meta.u, body, req.headers),
    };
    deliveries.push(rec);
    res.on("close", () => {
      open--;
      if (!res.writableFinished) rec.hungUp = true;
    });
    const answer = (status) => {
      if (res.destroyed || res.writableEnded) return;
      rec.status = status;
      rec.answeredAt = Date.now();
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(status < 300 ? '{"ok":true}' : '{"ok":false}');
    };
    if (route === "/ok") answer(200);
    else if (route === "/fail") answer(500);
    else if (route === "/hang") {
      const t = setTimeout(() => {
        timers.delete(t);
        answer(200);
      }, hangMs);
      timers.add(t);
    } else answer(404);
  });
  server.keepAliveTimeout = 5_000;
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  return {
    url: (route) => `http://127.0.0.1:${port}${route}`,
    deliveries,
    open: () => open,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      server.close();
      await once(server, "close").catch(() => {});
    },
  };
}
