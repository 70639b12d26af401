import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/**
 * The benchmark's callback receiver: verifies every signature with the
 * standardwebhooks package and notes when each job's callback arrived.
 */
export async function startVerifyingReceiver() {
  let verifier: Webhook | null = null;
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  let invalid = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString("utf8");
      try {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const event = (verifier as Webhook).verify(body, headers) as { data: { id: string } };
        if (!arrivals.has(event.data.id)) arrivals.set(event.data.id, at);
        waiters.get(event.data.id)?.();
        res.statusCode = 204;
      } catch {
        invalid++;
        res.statusCode = 400;
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    invalidCount: () => invalid,
    useSecret(secret: string) {
      verifier = new Webhook(secret);
      arrivals.clear();
    },
    /** Resolves when the job's callback has arrived. */
    arrival(jobId: string): Promise<number> {
      const known = arrivals.get(jobId);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve) => waiters.set(jobId, () => resolve(arrivals.get(jobId) as number)));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
