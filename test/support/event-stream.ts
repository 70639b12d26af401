import type { JobView } from "../../src/jobs/model";

export interface StreamEvent {
  event: string;
  id: string;
  data: JobView;
}

/**
 * Parses a whole Server-Sent Events body (the job stream ends after the
 * terminal status) into its events; comments such as heartbeats are skipped.
 * Plain text in, no runtime APIs: used by tests in workerd and in Node.
 */
export function parseEventStream(text: string): StreamEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("event:"))
    .map((block) => {
      const fields = Object.fromEntries(
        block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
      );
      return { event: fields.event ?? "", id: fields.id ?? "", data: JSON.parse(fields.data ?? "null") as JobView };
    });
}
