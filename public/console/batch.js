import { query } from "./api.js";
import { deliveryOutcome, time } from "./words.js";

/** A batch: its status and counts, its jobs (the job list filtered by it) and its batch.completed deliveries. */
export async function renderBatch({ app, api, id }) {
  app.append(document.getElementById("batch-page").content.cloneNode(true));
  const $ = (selector) => app.querySelector(selector);
  const batch = await api(`/v1/batches/${id}`);
  $("#batch-id").textContent = batch.id;
  $("#batch-status").textContent = batch.status;
  $("#batch-jobs").href = `#/?${query({ batch_id: batch.id })}`;
  $("#batch-counts").replaceChildren(
    ...["total", "succeeded", "failed", "canceled", "pending"].map((name) => {
      const item = document.createElement("li");
      item.append(
        Object.assign(document.createElement("strong"), { textContent: String(batch.counts[name]) }),
        ` ${name}`,
      );
      return item;
    }),
  );
  $("#batch-times").textContent = `created ${time(batch.created_at)} · completed ${time(batch.completed_at)}`;
  if (batch.on_complete) {
    const { deliveries } = await api(`/v1/batches/${id}/deliveries`);
    $("#batch-deliveries").replaceChildren(
      ...deliveries.map((d) => {
        const row = document.createElement("tr");
        for (const content of [String(d.attempt), time(d.attempted_at), deliveryOutcome(d)])
          row.insertCell().append(content);
        return row;
      }),
    );
  }
  $("#batch-callback").hidden = !batch.on_complete;
  return () => {};
}
