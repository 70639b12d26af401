import { query } from "./api.js";
import { deliveryOutcome, time } from "./words.js";

/** Failing callbacks across jobs and batches, newest first, a page at a time, each with a Redeliver button. */
export async function renderFailing({ app, api, params, showError }) {
  app.append(document.getElementById("failing-deliveries").content.cloneNode(true));
  const $ = (selector) => app.querySelector(selector);
  const page = await api(`/v1/failing-deliveries?${query({ cursor: params.get("cursor") ?? "", limit: 20 })}`);
  $("#failing").replaceChildren(
    ...page.events.map((event) => {
      const row = document.createElement("tr");
      // A batch's batch.completed event belongs to its batch; its paths are the batch's.
      const owner = event.job_id ? `/v1/jobs/${event.job_id}` : `/v1/batches/${event.batch_id}`;
      const href = event.job_id ? `#/jobs/${event.job_id}` : `#/batches/${event.batch_id}`;
      const link = Object.assign(document.createElement("a"), { href, textContent: event.job_id ?? event.batch_id });
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: "Redeliver" });
      button.setAttribute("aria-label", `Redeliver ${event.type} of ${event.job_id ?? event.batch_id}`);
      button.addEventListener("click", async () => {
        button.disabled = true;
        const sent = await api(`${owner}/deliveries/${event.id}/redeliver`, { method: "POST" }).catch(showError);
        if (sent) button.textContent = "Queued";
      });
      const last = event.last_attempt ? deliveryOutcome(event.last_attempt) : "—";
      const next = event.next_attempt_at ? time(event.next_attempt_at) : "—";
      const cells = [link, event.type, event.status, String(event.attempts), last, event.callback_url, next, button];
      for (const content of cells) row.insertCell().append(content);
      row.cells[2].className = event.status === "failed" ? "status-failed" : "";
      return row;
    }),
  );
  $("#no-failing").hidden = page.events.length > 0;
  const older = $("#failing-older");
  older.hidden = !page.next_cursor;
  older.addEventListener("click", () => {
    location.hash = `#/deliveries?${query({ cursor: page.next_cursor })}`;
  });
  return () => {};
}
