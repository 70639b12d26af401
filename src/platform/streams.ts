/**
 * Reads a body up to `maxBytes` and cancels the rest, so a huge or endless
 * stream costs at most that much memory. `truncated` tells whether more was
 * there. When `signal` aborts, the stream is cancelled and what was read so
 * far is returned (`truncated`), so a slow stream costs at most that much time.
 */
export async function readAtMost(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!body) return { bytes: new Uint8Array(0), truncated: false };
  const reader = body.getReader();
  const stopped = new Promise<"stopped">((resolve) => {
    if (signal?.aborted) resolve("stopped");
    signal?.addEventListener("abort", () => resolve("stopped"), { once: true });
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const read = await Promise.race([reader.read(), stopped]);
    if (read === "stopped") {
      truncated = true;
      await reader.cancel();
      break;
    }
    const { done, value } = read;
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes: truncated ? bytes.slice(0, maxBytes) : bytes, truncated };
}
