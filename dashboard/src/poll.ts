// Live updates: the API has no push channel, so views re-read what they show every few seconds while
// the tab is visible (a hidden tab stops polling and catches up when it is shown again).
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./api";

export interface Polled<T> {
  data: T | null;
  error: string | null;
  /** Read now (after an action), instead of waiting for the next tick. */
  refresh: () => void;
}

export function usePolling<T>(load: () => Promise<T>, everyMs: number, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const generation = useRef(0);
  const refresh = useCallback(() => {
    const mine = ++generation.current;
    load().then(
      (value) => {
        // An answer to an older request (before the filters changed) is dropped.
        if (mine !== generation.current) return;
        setData(value);
        setError(null);
      },
      (err: unknown) => {
        if (mine === generation.current) setError(describeError(err));
      },
    );
  }, deps);

  useEffect(() => {
    setData(null);
    refresh();
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") refresh();
    }, everyMs);
    const onVisible = () => document.visibilityState === "visible" && refresh();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [refresh, everyMs]);

  return { data, error, refresh };
}
