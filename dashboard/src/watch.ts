// A job live over its WebSocket watch (GET /v1/jobs/:id/watch): the server sends the job at once and on
// each change, and closes the socket once the job is finished. The key goes as the subprotocol
// `bearer.<key>` (a browser cannot set headers on a WebSocket). If the watch cannot open or breaks,
// the view falls back to reading the job every few seconds, as it did before there was a watch.
import { useCallback, useEffect, useState } from "preact/hooks";
import { call, describeError, type Job } from "./api";
import type { Polled } from "./poll";
import { session } from "./session";

const FALLBACK_MS = 2_000;

export interface Watched extends Polled<Job> {
  /** The socket is open: changes arrive as they happen. */
  live: boolean;
}

export function useJobWatch(id: string): Watched {
  const [data, setData] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const refresh = useCallback(() => {
    call<Job>("GET", `/v1/jobs/${encodeURIComponent(id)}`).then(
      (job) => {
        setData(job);
        setError(null);
      },
      (err: unknown) => setError(describeError(err)),
    );
  }, [id]);

  useEffect(() => {
    setData(null);
    let fallback: ReturnType<typeof setInterval> | undefined;
    let leaving = false;
    const poll = () => {
      refresh();
      fallback ??= setInterval(() => document.visibilityState === "visible" && refresh(), FALLBACK_MS);
    };
    const token = session.value?.token;
    if (!token || typeof WebSocket === "undefined") {
      poll();
      return () => clearInterval(fallback);
    }
    const url = new URL(`/v1/jobs/${encodeURIComponent(id)}/watch`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, [`bearer.${token}`]);
    socket.onopen = () => setLive(true);
    socket.onmessage = (event: MessageEvent) => {
      setData(JSON.parse(String(event.data)) as Job);
      setError(null);
    };
    socket.onclose = (event: CloseEvent) => {
      setLive(false);
      // 1000: the job is finished (its last state was sent). Anything else: read it the old way.
      if (!leaving && event.code !== 1000) poll();
    };
    return () => {
      leaving = true;
      socket.close(1000, "left the page");
      clearInterval(fallback);
    };
  }, [id, refresh]);

  return { data, error, refresh, live };
}
