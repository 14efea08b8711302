// A webhook target on 127.0.0.1 that answers 200 after a fixed delay, so an `http` job holds its pool
// units for a realistic time. It records when each request started and ended and how many were in
// flight at once: the concurrency the target actually saw, independent of what the scheduler reports.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface TargetRequest {
  webhookId: string;
  start: number;
  end: number;
}

export interface DelayTarget {
  url(route: string): string;
  readonly requests: TargetRequest[];
  maxConcurrent(): number;
  resetCounters(): void;
  close(): Promise<void>;
}

export async function startDelayTarget(delayMs: number): Promise<DelayTarget> {
  const requests: TargetRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    const start = Date.now();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    req.resume();
    req.once("end", () => {
      setTimeout(() => {
        inFlight--;
        const webhookId = String(req.headers["webhook-id"] ?? "");
        requests.push({ webhookId, start, end: Date.now() });
        res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      }, delayMs);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: (route) => `http://127.0.0.1:${port}${route}`,
    requests,
    maxConcurrent: () => maxInFlight,
    resetCounters() {
      requests.length = 0;
      maxInFlight = inFlight;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
