// The routes the TypeScript client does not wrap (list pages with a cursor, the console's routes,
// retry), with the same error shape it throws: { status, code, message }.

/** A `fetch` of this service with the API key; resolves to the JSON answer, rejects with the API's error. */
export function apiWith(apiKey) {
  return async function api(path, { method = "GET", body } = {}) {
    const headers = { authorization: `Bearer ${apiKey}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const error = answer?.error ?? { code: "http_error", message: `HTTP ${response.status}` };
      throw Object.assign(new Error(error.message), { status: response.status, code: error.code });
    }
    return answer;
  };
}

/** A query string of the non-empty entries of `params`. */
export const query = (params) =>
  new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined && value !== "")).toString();
