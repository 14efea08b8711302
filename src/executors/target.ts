// Which URLs an http job may call. Pure, so the API can reject early and the executor can re-check
// every redirect hop with the same rules. Hostnames that merely *resolve* to private addresses cannot
// be caught here: where the runtime does not refuse them itself, the resolver check does
// (host-check.ts, TARGET_DNS_CHECK; docs/architecture.md "Private hosts by name").

// [network, prefix length] pairs; anything not globally routable or meant for the local site.
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8], // "this network", incl. the unspecified address
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, incl. cloud metadata 169.254.169.254
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. broadcast
];

const BLOCKED_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa"];

/** Why `url` may not be called, or null when it may. */
export function targetError(url: string, allowPrivate: boolean): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "invalid URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return `scheme ${u.protocol} is not allowed`;
  if (u.protocol === "http:" && !allowPrivate) return "only https targets are allowed";
  if (u.username !== "" || u.password !== "") return "URLs with credentials (user:pass@) are not allowed";
  if (allowPrivate) return null;
  return hostError(u.hostname.toLowerCase());
}

function hostError(hostname: string): string | null {
  if (hostname.startsWith("[")) {
    const groups = parseIPv6(hostname.slice(1, -1));
    if (!groups) return "invalid IPv6 address";
    return isPublicV6(groups) ? null : `address ${hostname} is not public`;
  }
  // The URL parser already folds 2130706433, 0x7f000001, 0177.0.0.1 and 127.1 into dotted quads;
  // parsing them again here keeps the check honest if a runtime ever skips that normalisation.
  const v4 = parseIPv4(hostname);
  if (v4 !== null) return isPublicV4(v4) ? null : `address ${hostname} is not public`;
  const name = hostname.replace(/\.+$/, "");
  if (name === "localhost" || BLOCKED_SUFFIXES.some((s) => name.endsWith(s))) {
    return `host ${hostname} is not public`;
  }
  if (!name.includes(".")) return `host ${hostname} is not a fully qualified domain name`;
  return null;
}

/**
 * Why an address (as a resolver answers it: dotted quad or IPv6 text) may not be called, or null when
 * it is public. Text that is no address is refused.
 */
export function addressError(address: string): string | null {
  if (address.includes(":")) {
    const groups = parseIPv6(address);
    if (!groups) return `${address} is not an address`;
    return isPublicV6(groups) ? null : `${address}, which is not public`;
  }
  const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? parseIPv4(address) : null;
  if (v4 === null) return `${address} is not an address`;
  return isPublicV4(v4) ? null : `${address}, which is not public`;
}

/** Whether a URL's hostname is an address literal (nothing to resolve). */
export function isAddressLiteral(hostname: string): boolean {
  return hostname.startsWith("[") || parseIPv4(hostname) !== null;
}

/** WHATWG-style IPv4: 1–4 parts, each decimal, 0x-hex or 0-octal; the last part fills the rest. */
function parseIPv4(host: string): number | null {
  const parts = host.replace(/\.$/, "").split(".");
  if (parts.length === 0 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : Number.parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = Number.parseInt(p.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(p)) n = Number(p);
    else return null;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null;
  return nums.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

function inV4(addr: number, net: string, bits: number): boolean {
  const base = parseIPv4(net) as number;
  const size = 2 ** (32 - bits);
  return Math.floor(addr / size) === Math.floor(base / size);
}

function isPublicV4(addr: number): boolean {
  return !BLOCKED_V4.some(([net, bits]) => inV4(addr, net, bits));
}

/** Eight 16-bit groups, or null. Accepts "::" compression and a trailing dotted quad. */
export function parseIPv6(text: string): number[] | null {
  let s = text.toLowerCase();
  const cut = s.lastIndexOf(":");
  const last = s.slice(cut + 1);
  if (last.includes(".")) {
    const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(last) ? parseIPv4(last) : null;
    if (v4 === null) return null;
    s = `${s.slice(0, cut + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves[1] ? halves[1].split(":") : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  const given = head.length + rest.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const hex = (g: string) => Number.parseInt(g, 16);
  return [...head.map(hex), ...new Array<number>(8 - given).fill(0), ...rest.map(hex)];
}

function isPublicV6(g: number[]): boolean {
  const [g0 = 0, g1 = 0] = g;
  const embeddedV4 = (g[6] ?? 0) * 65536 + (g[7] ?? 0);
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) reach the embedded IPv4 address.
  if (zeroUpTo(5) && g[5] === 0xffff) return isPublicV4(embeddedV4);
  if (g0 === 0x64 && g1 === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return isPublicV4(embeddedV4);
  // 6to4 embeds the IPv4 address in groups 1–2.
  if (g0 === 0x2002) return isPublicV4(g1 * 65536 + (g[2] ?? 0));
  // Only global unicast (2000::/3) is public; this also excludes ::, ::1, IPv4-compatible ::/96,
  // fc00::/7 (ULA), fe80::/10 (link-local), fec0::/10 and ff00::/8 (multicast).
  if ((g0 & 0xe000) !== 0x2000) return false;
  if (g0 === 0x2001 && g1 < 0x200) return false; // 2001::/23 IETF assignments, incl. Teredo
  if (g0 === 0x2001 && g1 === 0xdb8) return false; // documentation
  if ((g0 & 0xfff0) === 0x3ff0) return false; // 3fff::/20 documentation
  return true;
}
