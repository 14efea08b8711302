// The user's resource pools: capacity, units in use and jobs waiting, re-read every two seconds;
// a pool is created or resized with PUT /v1/pools/:name.
import { useState } from "preact/hooks";
import { call, describeError, type Pool } from "../api";
import { ErrorLine } from "../components";
import { usePolling } from "../poll";

const REFRESH_MS = 2_000;

export function PoolsView() {
  const polled = usePolling(() => call<{ pools: Pool[] }>("GET", "/v1/pools"), REFRESH_MS, []);
  const [name, setName] = useState("");
  const [capacity, setCapacity] = useState("4");
  const [error, setError] = useState<string | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      await call("PUT", `/v1/pools/${encodeURIComponent(name.trim())}`, { capacity: Number(capacity) });
      polled.refresh();
    } catch (err) {
      setError(describeError(err));
    }
  }

  async function remove(pool: string) {
    if (!confirm(`Delete pool ${pool}? Only a pool no unfinished job names can go.`)) return;
    setError(null);
    try {
      await call("DELETE", `/v1/pools/${encodeURIComponent(pool)}`);
      polled.refresh();
    } catch (err) {
      setError(describeError(err));
    }
  }

  const pools = polled.data?.pools ?? [];
  return (
    <>
      <h1>Pools</h1>
      <ErrorLine error={polled.error} />
      <table class="pools">
        <thead>
          <tr>
            <th>Pool</th>
            <th>Capacity</th>
            <th>In use</th>
            <th>Waiting</th>
            <th>Use</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {pools.map((p) => (
            <tr key={p.name} data-pool={p.name}>
              <td>{p.name}</td>
              <td>{p.capacity}</td>
              <td data-field="in_use">{p.in_use}</td>
              <td data-field="waiting">{p.waiting}</td>
              <td>
                <meter min={0} max={Math.max(1, p.capacity)} value={p.in_use} />
              </td>
              <td>
                <button type="button" onClick={() => remove(p.name)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {polled.data && pools.length === 0 && <p class="hint">No pools yet.</p>}
      <h2>Create or resize a pool</h2>
      <form class="inline-form" onSubmit={save}>
        <label>
          Pool name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Capacity
          <input value={capacity} onInput={(e) => setCapacity(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={!name.trim()}>
          Save pool
        </button>
      </form>
      <ErrorLine error={error} />
    </>
  );
}
