// A Chrome DevTools protocol client for `wrangler dev --inspector-port`, over Node's own WebSocket (no
// dependency). Wrangler's inspector proxy lists one target at http://127.0.0.1:<port>/json, "Cloudflare
// Worker": the isolate that runs the user Worker (our src/, with Miniflare's wrappers around it), relayed
// from workerd's own inspector; it takes one client at a time. workerd answers the Profiler commands
// itself (it echoes the command back, with `result` where there is one).

export interface InspectorTarget {
  id: string;
  title: string;
  description?: string;
  webSocketDebuggerUrl: string;
}

interface Message {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code?: number; message?: string };
}

/** Node's WebSocket (undici) takes headers in a second argument, which the DOM's type does not know. */
type NodeWebSocket = new (url: string, init: { headers: Record<string, string> }) => WebSocket;

/** The targets the inspector at `port` lists. */
export async function inspectorTargets(port: number): Promise<InspectorTarget[]> {
  const res = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`inspector /json answered ${res.status}`);
  return (await res.json()) as InspectorTarget[];
}

export class DevToolsSession {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, ((params: unknown) => void)[]>();
  private closedWith: Error | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => this.receive(String(event.data)));
    socket.addEventListener("close", () => this.fail(new Error("the inspector closed the connection")));
  }

  /**
   * Connects to `target`. The proxy accepts a client without a browser's User-Agent only with an Origin
   * on 127.0.0.1 or localhost; Node's WebSocket sends a User-Agent, so it sends that Origin too.
   */
  static async connect(target: InspectorTarget, timeoutMs = 15_000): Promise<DevToolsSession> {
    const Socket = WebSocket as unknown as NodeWebSocket;
    const socket = new Socket(target.webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no inspector connection in time")), timeoutMs);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`could not connect to ${target.webSocketDebuggerUrl}`));
      });
    });
    return new DevToolsSession(socket);
  }

  /** Calls `listener` with the params of every `method` event from now on. */
  on(method: string, listener: (params: unknown) => void): void {
    const list = this.listeners.get(method) ?? [];
    list.push(listener);
    this.listeners.set(method, list);
  }

  /** Sends a command; resolves with its result (an empty object when it has none). */
  send<T = unknown>(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = ++this.next;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          if (m.error) reject(new Error(`${method}: ${m.error.message ?? JSON.stringify(m.error)}`));
          else resolve((m.result ?? {}) as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }

  private receive(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (message.id !== undefined) {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiting?.resolve(message);
      return;
    }
    if (message.method)
      for (const listener of this.listeners.get(message.method) ?? []) listener(message.params);
  }

  private fail(error: Error): void {
    this.closedWith = error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
