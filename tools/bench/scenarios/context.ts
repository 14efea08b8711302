// What every scenario of `npm run bench` runs against: the API, the admin token, the server (whose log
// it reads) and the webhook target of the run's server session, and the run's progress log.
import type { ApiClient } from "../../harness/client";
import type { DevServer } from "../../harness/dev-server";
import type { Target } from "../../harness/target";
import type { Log } from "../../harness/util";

export interface Bench {
  api: ApiClient;
  adminToken: string;
  server: DevServer;
  target: Target;
  log: Log;
}
