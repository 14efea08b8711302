import { expect, it } from "vitest";
import { createUser, getJob, submit } from "../helpers";

it("submits and views", async () => {
  const u = await createUser();
  const r = await submit(u, { type: "noop" });
  expect(r.status).toBe(201);
  const j = await getJob(u, r.body.id);
  expect(j.status).toBe("scheduled");
});
