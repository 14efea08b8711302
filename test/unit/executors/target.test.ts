import { describe, expect, it } from "vitest";
import { targetError } from "../../../src/executors/target";

// Each is refused when private targets are not allowed.
const REFUSED = [
  // schemes and credentials
  "ftp://example.com/",
  "file:///etc/passwd",
  "javascript:alert(1)",
  "data:text/plain,hello",
  "ws://example.com/",
  "http://example.com/",
  "https://user:pass@example.com/",
  "https://user@example.com/",
  "not a url",
  "//example.com/hook",
  // local names
  "https://localhost/",
  "https://LOCALHOST./",
  "https://localhost:8443/",
  "https://api.localhost/",
  "https://printer.local/",
  "https://db.internal/",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://intranet/",
  "https://router.home.arpa/",
  // private, loopback, link-local, CGNAT, multicast, reserved and unspecified IPv4
  "https://127.0.0.1/",
  "https://127.255.255.254:8443/x",
  "https://10.1.2.3/",
  "https://172.16.0.1/",
  "https://172.31.255.255/",
  "https://192.168.1.1/",
  "https://169.254.169.254/latest/meta-data/",
  "https://100.64.0.1/",
  "https://100.127.255.255/",
  "https://0.0.0.0/",
  "https://224.0.0.1/",
  "https://239.255.255.250/",
  "https://240.0.0.1/",
  "https://255.255.255.255/",
  "https://192.0.0.8/",
  "https://192.0.2.1/",
  "https://198.18.0.1/",
  "https://198.51.100.7/",
  "https://203.0.113.9/",
  // IPv4 in odd encodings
  "https://2130706433/",
  "https://0x7f000001/",
  "https://0177.0.0.1/",
  "https://127.1/",
  "https://0x7f.0.0.1/",
  "https://0/",
  "https://3232235777/",
  "https://0xa9fea9fe/",
  "https://169.254.43518/",
  "https://0251.0376.0251.0376/",
  "https://127.0.0.1./",
  "https://\u2460\u2461\u2466.0.0.1/",
  // IPv6
  "https://[::1]/",
  "https://[0:0:0:0:0:0:0:1]:8080/",
  "https://[::]/",
  "https://[fc00::1]/",
  "https://[fd12:3456:789a::1]/",
  "https://[fe80::1]/",
  "https://[febf::1]/",
  "https://[fec0::1]/",
  "https://[ff02::1]/",
  "https://[::ffff:127.0.0.1]/",
  "https://[::ffff:7f00:1]/",
  "https://[::ffff:169.254.169.254]/",
  "https://[::ffff:10.0.0.1]/",
  "https://[::127.0.0.1]/",
  "https://[64:ff9b::10.0.0.1]/",
  "https://[2002:7f00:1::]/",
  "https://[2001:db8::1]/",
  "https://[2001::1]/",
  "https://[100::1]/",
];

const ALLOWED = [
  "https://example.com/",
  "https://example.com:8443/hook?x=1#frag",
  "https://api.example.co.uk/v1/hooks",
  "https://EXAMPLE.com./",
  "https://localhost.example.com/",
  "https://local.example.com/",
  "https://internal.example.com/",
  "https://xn--exmple-cua.com/",
  "https://ex\u00e4mple.com/",
  "https://1.1.1.1/",
  "https://8.8.8.8:443/",
  "https://0x8.0x8.0x8.0x8/",
  "https://134744072/",
  "https://172.15.255.255/",
  "https://172.32.0.1/",
  "https://100.63.255.255/",
  "https://100.128.0.1/",
  "https://169.253.1.1/",
  "https://192.169.0.1/",
  "https://223.255.255.255/",
  "https://[2606:4700:4700::1111]/",
  "https://[2001:4860:4860::8888]:8443/",
  "https://[::ffff:8.8.8.8]/",
  "https://[64:ff9b::808:808]/",
  "https://[2002:808:808::1]/",
];

describe("targetError without private targets", () => {
  it.each(REFUSED)("refuses %s", (url) => {
    expect(targetError(url, false)).toEqual(expect.any(String));
  });

  it.each(ALLOWED)("allows %s", (url) => {
    expect(targetError(url, false)).toBeNull();
  });

  it("covers a corpus of at least 40 URLs", () => {
    expect(REFUSED.length + ALLOWED.length).toBeGreaterThanOrEqual(40);
  });

  it("relies on the URL parser folding odd IPv4 encodings into dotted quads", () => {
    for (const host of ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1"]) {
      expect(new URL(`https://${host}/`).hostname).toBe("127.0.0.1");
    }
    expect(new URL("https://[::ffff:127.0.0.1]/").hostname).toBe("[::ffff:7f00:1]");
  });

  it("explains why", () => {
    expect(targetError("http://example.com/", false)).toMatch(/https/);
    expect(targetError("https://169.254.169.254/", false)).toMatch(/not public/);
    expect(targetError("https://u:p@example.com/", false)).toMatch(/credentials/);
  });
});

describe("targetError with private targets allowed", () => {
  it.each([
    "http://localhost:8787/hook",
    "http://127.0.0.1:3000/",
    "https://10.0.0.1/",
    "http://[::1]:8080/",
    "http://intranet/",
    "http://169.254.169.254/",
    "https://example.com/",
  ])("allows %s", (url) => {
    expect(targetError(url, true)).toBeNull();
  });

  it.each(["ftp://localhost/", "file:///etc/passwd", "http://user:pass@localhost/", "not a url"])(
    "still refuses %s",
    (url) => {
      expect(targetError(url, true)).toEqual(expect.any(String));
    },
  );
});
