// What a failed fetch means, in words a user can act on. workerd hides most causes: a refused or
// reset connection throws "Network connection lost." (with `retryable: true`), while a DNS failure,
// a failed TLS handshake and other connection errors throw only "internal error; reference = <id>"
// (the cause goes to the runtime's own log). So the error names the host and the causes that fit
// what the runtime did say, and keeps its reference for whoever can read that log.

const REFERENCE = /^internal error; reference = (\S+)$/;

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 200);
  }
}

/** The attempt's error for a fetch of `url` that threw `err` (not a timeout). */
export function networkErrorText(err: unknown, url: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const host = hostOf(url);
  if (message === "Network connection lost.") {
    return `could not connect to ${host}: the connection was refused or closed before a response`;
  }
  const reference = REFERENCE.exec(message)?.[1];
  if (reference !== undefined) {
    const tls = url.startsWith("https:") ? ", the TLS handshake failed" : "";
    return (
      `could not reach ${host}: the host name did not resolve${tls} or the connection failed ` +
      `(the runtime gives no more detail; reference ${reference})`
    );
  }
  return `request to ${host} failed: ${message}`;
}
