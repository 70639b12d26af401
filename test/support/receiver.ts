import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the receiver got. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

/**
 * A real webhook receiver on loopback. It records every POST by path and
 * behaves as the path's first segments say:
 *
 * - `/status/{code}/…`        answers `code` (a 3xx points `Location` at `/ok/…`)
 * - `/retry-after/{s}/…`      answers 429 with `Retry-After: s`
 * - `/unavailable/{s}/…`      answers 503 with `Retry-After: s`
 * - `/retry-at/{s}/…`         answers 503 with `Retry-After` as the HTTP date `s` seconds ahead
 * - `/flaky/{n}/…`            answers 500 to the first `n` requests on the path, then 204
 * - `/slow/{ms}/…`            answers 204 after `ms`
 * - `/stream/…`               answers 200 with a body that never ends
 * - `/trickle/{ms}/…`         answers 200 and 8 bytes at once, and ends the body after `ms`
 * - anything else             answers 204
 *
 * `GET /__received?path=/x` returns what `/x` got and `GET /__stats?prefix=/slow`
 * the most requests ever in flight under a prefix, so tests in workerd can
 * read them over HTTP.
 */
export async function startReceiver() {
  const received: ReceivedRequest[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    if (req.method === "GET" && url.pathname === "/__received") {
      return sendJson(
        res,
        received.filter((r) => r.path === url.searchParams.get("path")),
      );
    }
    if (req.method === "GET" && url.pathname === "/__stats") {
      return sendJson(res, { maxInFlight: maxInFlight.get(url.searchParams.get("prefix") ?? "") ?? 0 });
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({
        path: url.pathname,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now(),
      });
      const [, kind, arg] = url.pathname.split("/");
      const prefix = `/${kind}/${arg}`;
      inFlight.set(prefix, (inFlight.get(prefix) ?? 0) + 1);
      maxInFlight.set(prefix, Math.max(maxInFlight.get(prefix) ?? 0, inFlight.get(prefix) ?? 0));
      res.on("close", () => inFlight.set(prefix, (inFlight.get(prefix) ?? 1) - 1));
      behave(res, kind, arg, url.pathname);
    });
  });

  function behave(res: ServerResponse, kind: string | undefined, arg: string | undefined, path: string) {
    const n = Number(arg);
    switch (kind) {
      case "status":
        if (n >= 300 && n < 400) res.setHeader("location", path.replace(`/status/${arg}`, "/ok"));
        res.statusCode = n;
        return res.end(`status ${n}`);
      case "retry-after":
        res.statusCode = 429;
        res.setHeader("retry-after", String(n));
        return res.end();
      case "unavailable":
        res.statusCode = 503;
        res.setHeader("retry-after", String(n));
        return res.end();
      case "retry-at":
        res.statusCode = 503;
        res.setHeader("retry-after", new Date(Date.now() + n * 1000).toUTCString());
        return res.end();
      case "flaky":
        res.statusCode = received.filter((r) => r.path === path).length <= n ? 500 : 204;
        return res.end();
      case "slow":
        return void setTimeout(() => {
          res.statusCode = 204;
          res.end();
        }, n);
      case "stream": {
        res.statusCode = 200;
        const chunk = "x".repeat(16 * 1024);
        const timer = setInterval(() => res.write(chunk), 5);
        res.on("close", () => clearInterval(timer));
        return;
      }
      case "trickle":
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("received");
        return void setTimeout(() => res.end(), n);
      default:
        res.statusCode = 204;
        return res.end();
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: ServerResponse, value: unknown) {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(value));
}
