// A consumer's plain JavaScript, run by ../package.test.ts with Node 22 in a plain Node project that
// installed the packed client, against the e2e run's `npm run dev` server: it creates a user with the
// admin token, submits an http job whose webhook it receives and verifies itself, waits for the job
// with the client's helper, sees an error answer as SchedulerError, and prints what it saw as JSON.
//   node run.mjs <base URL> <admin token>
import { createServer } from "node:http";
import { createSchedulerClient, deliveryOf, SchedulerError, verifyWebhook } from "@edge-scheduler/client";

const [baseUrl, adminToken] = process.argv.slice(2);
const admin = createSchedulerClient({ baseUrl, token: adminToken });
const { data: user, error } = await admin.api.POST("/v1/admin/users", { body: { name: "client-package" } });
if (!user) throw new Error(`could not create a user: ${JSON.stringify(error)}`);

// The webhook receiver: 200 for a delivery that verifies with the user's signing secret, else 401.
const received = [];
const receiver = createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => {
    raw += chunk;
  });
  req.on("end", () => {
    try {
      const body = JSON.parse(verifyWebhook(raw, req.headers, user.signing_secret));
      received.push({ verified: true, body, delivery: deliveryOf(req.headers) });
      res.writeHead(200).end("ok");
    } catch (err) {
      received.push({ verified: false, error: String(err) });
      res.writeHead(401).end();
    }
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const hook = `http://127.0.0.1:${receiver.address().port}/hook`;

try {
  const client = createSchedulerClient({ baseUrl, token: user.api_key });
  const job = await client.submit({
    type: "http",
    payload: { url: hook, body: { from: "the packed client" } },
    max_retries: 0,
  });
  const done = await client.waitForJob(job.id, { timeoutMs: 60_000, intervalMs: 100 });
  // A finished job cannot be cancelled: a 409, thrown as SchedulerError.
  const refused = await client.cancel(job.id).then(
    () => null,
    (err) => ({ schedulerError: err instanceof SchedulerError, status: err.status, code: err.code }),
  );
  console.log(
    JSON.stringify({
      node: process.version,
      client: import.meta.resolve("@edge-scheduler/client"),
      apiKey: user.api_key,
      job: { id: job.id, status: job.status },
      done: { id: done.id, status: done.status },
      received,
      refused,
    }),
  );
} finally {
  receiver.closeAllConnections();
  receiver.close();
}
