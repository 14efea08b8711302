// Small pieces shared by the views.
import type { ComponentChildren } from "preact";
import { formatInstant, relativeTime } from "./format";
import { BROWSER_ZONE } from "./job-body";

export function StatusBadge(props: { status: string }) {
  return (
    <span class={`status status-${props.status}`} data-status={props.status}>
      {props.status}
    </span>
  );
}

/** An instant as every view shows it: local time with the zone named, and how long ago beside it. */
export function Time(props: { iso: string | null | undefined }) {
  if (!props.iso) return <span>—</span>;
  return (
    <span class="when">
      <time dateTime={props.iso} title={`${props.iso} (${BROWSER_ZONE})`}>
        {formatInstant(props.iso)}
      </time>
      <span class="ago">{relativeTime(props.iso)}</span>
    </span>
  );
}

export function ErrorLine(props: { error: string | null }) {
  return props.error ? (
    <p class="error" role="alert">
      {props.error}
    </p>
  ) : null;
}

export function Section(props: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}
