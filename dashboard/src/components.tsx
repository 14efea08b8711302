// Small pieces shared by the views.
import type { ComponentChildren } from "preact";
import { localTime } from "./format";

export function StatusBadge(props: { status: string }) {
  return (
    <span class={`status status-${props.status}`} data-status={props.status}>
      {props.status}
    </span>
  );
}

export function Time(props: { iso: string | null | undefined }) {
  return <time title={props.iso ?? ""}>{localTime(props.iso)}</time>;
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
