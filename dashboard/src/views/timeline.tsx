// A job's attempts on one time axis: each row shows the wait from scheduled to started (its lateness)
// and the run from started to finished, oldest first, with the exact instants beside the bars.
import type { Attempt } from "../api";
import { StatusBadge, Time } from "../components";
import { between, duration } from "../format";

const ms = (iso: string | null) => (iso ? new Date(iso).getTime() : null);

export function Timeline(props: { attempts: Attempt[]; now: number }) {
  const attempts = [...props.attempts].reverse();
  if (attempts.length === 0) return <p class="hint">No attempt yet.</p>;
  const start = Math.min(...attempts.map((a) => ms(a.scheduled_at) ?? props.now));
  const end = Math.max(props.now, ...attempts.map((a) => ms(a.finished_at) ?? props.now));
  const span = Math.max(1, end - start);
  const pct = (t: number) => `${((100 * (t - start)) / span).toFixed(2)}%`;
  const width = (from: number, to: number) => `${Math.max(0.5, (100 * (to - from)) / span).toFixed(2)}%`;

  return (
    <ol class="timeline">
      {attempts.map((a) => {
        const scheduled = ms(a.scheduled_at) ?? start;
        const started = ms(a.started_at) ?? scheduled;
        const finished = ms(a.finished_at) ?? props.now;
        return (
          <li key={a.number} data-attempt={a.number}>
            <div class="attempt-head">
              <strong>#{a.number}</strong> <StatusBadge status={a.status} />
              <span>
                scheduled <Time iso={a.scheduled_at} /> → started <Time iso={a.started_at} /> (
                {duration(a.lateness_ms)} late) → finished <Time iso={a.finished_at} />
                {a.finished_at && ` (ran ${duration(between(a.started_at, a.finished_at))})`}
              </span>
            </div>
            <div class="track" aria-hidden="true">
              <span class="wait" style={{ left: pct(scheduled), width: width(scheduled, started) }} />
              <span
                class={`run run-${a.status}`}
                style={{ left: pct(started), width: width(started, finished) }}
              />
            </div>
            {a.error && <p class="error">{a.error}</p>}
          </li>
        );
      })}
    </ol>
  );
}
