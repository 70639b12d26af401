// How the console says things: times, durations, progress and delivery outcomes in plain words.

export const time = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
export const json = (value) => (value === null || value === undefined ? "—" : JSON.stringify(value, null, 2));

/** Progress as a whole percent: 33.333… shows as "33 %". */
export const percent = (value) => `${Math.round(value ?? 0)} %`;

/** Its latest attempt's run time (`started_at` is that attempt's start), to the end or now while it runs. */
export function duration(job) {
  if (!job.started_at) return "—";
  const end = job.finished_at ? Date.parse(job.finished_at) : Date.now();
  return milliseconds(end - Date.parse(job.started_at));
}

export function milliseconds(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return minutes < 60 ? `${minutes} min ${Math.round((ms % 60_000) / 1000)} s` : `${(minutes / 60).toFixed(1)} h`;
}

/**
 * A delivery error as recorded (src/webhooks/post.ts: "timed out after N ms",
 * the URL guard's "callback_url …", else the runtime's fetch error text) in
 * plain words. Unknown texts are shown as they are.
 */
const networkErrors = [
  // workerd's word for a failure it does not describe to the Worker (under `npm run dev`, a host name that does
  // not resolve or a TLS handshake that fails): its log has the cause under the same reference. First: the
  // reference is random letters, in which a later pattern (`dns`, `tls`) could match by chance.
  [/internal error; reference =/i, "Network error: the runtime gave no detail (its log has it under this reference)"],
  [/timed out|timeout/i, "Timed out: the receiver sent no status line in time"],
  [/refused|ECONNREFUSED|connect(ion)? (error|failed)/i, "Connection refused: nothing is listening at that address"],
  // workerd says this both when nothing listens (refused) and when a connection drops.
  [/network connection lost/i, "Connection refused or lost: nothing answered at that address"],
  [
    /ENOTFOUND|EAI_AGAIN|getaddrinfo|DNS|name (not|could not be) (found|resolved)|resolve host|no such host/i,
    "Name not found: the callback's host name does not resolve",
  ],
  [/TLS|SSL|certificate|handshake/i, "TLS failed: the receiver's certificate or TLS setup was not accepted"],
  [/connection (lost|reset|closed)|ECONNRESET|socket hang up|network/i, "Connection lost before an answer came"],
  [/^callback_url /, "Refused before sending: the callback URL is not allowed"],
];

const statusWords = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  410: "Gone (retries stopped)",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** `{ http_status, error }` of a delivery attempt as a short sentence. */
export function deliveryOutcome({ http_status: status, error }) {
  if (status !== null && status !== undefined) {
    if (status >= 200 && status < 300) return `Delivered (HTTP ${status})`;
    if (status >= 300 && status < 400) return `HTTP ${status}: a redirect, which is not followed`;
    return `HTTP ${status}${statusWords[status] ? ` ${statusWords[status]}` : ""}`;
  }
  if (!error) return "—";
  const known = networkErrors.find(([pattern]) => pattern.test(error));
  return known ? `${known[1]} (${error})` : error;
}
