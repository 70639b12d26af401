import { deliveryOutcome, json, milliseconds, percent, time } from "./words.js";

const terminal = new Set(["succeeded", "failed", "canceled"]);

/**
 * A job's page: status and live progress (SSE), the timeline of attempts with
 * each attempt's error, the log, the callback events and every delivery
 * attempt, and the Retry / Cancel / Redeliver buttons. Returns the function
 * that stops watching.
 */
export async function renderJob({ app, api, client, id, features, showError }) {
  // Read first: an unknown id shows only the error, not an empty page with live buttons.
  const job = await client.get(id);
  app.append(document.getElementById("job-page").content.cloneNode(true));
  const $ = (selector) => app.querySelector(selector);
  $("#job-id").textContent = id;
  const controller = new AbortController();
  $("#cancel").addEventListener("click", () => client.cancel(id).then(showJob, showError));
  const retry = $("#retry");
  if (features.retry) {
    // One key per page: a second click (or a double click) answers the job the first one made.
    const idempotencyKey = `console-retry-${crypto.randomUUID()}`;
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      const copy = await client.retry(id, { idempotencyKey }).catch(showError);
      retry.disabled = false;
      if (copy) location.hash = `#/jobs/${copy.id}`;
    });
  } else retry.remove();

  /** The job as last shown: the watch tells of an attempt's start before the attempts route can (loadAttempts). */
  let shown = job;
  const details = () =>
    Promise.all([loadAttempts(api, shown, $), loadLogs(client, id, $), loadDeliveries(client, id, $, showError)]);
  showJob(job);
  await details();
  if (!terminal.has(job.status)) {
    (async () => {
      for await (const { data } of client.watch(id, { signal: controller.signal })) {
        const attempts = shown.attempts;
        shown = data;
        showJob(data);
        if (data.attempts !== attempts || terminal.has(data.status)) await details();
      }
      await details();
    })().catch((error) => error.name !== "AbortError" && showError(error));
  }
  return () => controller.abort();

  function showJob(job) {
    if (!$("#job-status")) return;
    $("#job-status").textContent = job.status;
    $("#job-status").className = `status-${job.status}`;
    $("#job-attempts").textContent = `${job.attempts} of ${job.max_attempts}`;
    $("#job-type").textContent = job.type;
    const value = job.status === "succeeded" ? 100 : (job.progress?.percent ?? 0);
    $("#job-progress").value = value;
    $("#job-progress-text").textContent = percent(value);
    $("#job-progress-message").textContent = job.progress?.message ?? "";
    $("#job-input").textContent = json(job.input);
    $("#job-result").textContent =
      job.result_url && job.result === null ? `(large result: ${job.result_url})` : json(job.result);
    $("#job-error").textContent = job.error ? `${job.error.code}: ${job.error.message}` : "—";
    const links = [
      ["retry of", job.retry_of && `#/jobs/${job.retry_of}`, job.retry_of],
      ["batch", job.batch_id && features.batches && `#/batches/${job.batch_id}`, job.batch_id],
      ["schedule", job.schedule_id && `#/?schedule_id=${job.schedule_id}`, job.schedule_id],
    ].filter(([, , value]) => value);
    $("#job-links").replaceChildren(
      ...links.map(([label, href, value]) => {
        const item = document.createElement("li");
        item.append(
          `${label}: `,
          href ? Object.assign(document.createElement("a"), { href, textContent: value }) : value,
        );
        return item;
      }),
    );
    $("#cancel").hidden = terminal.has(job.status);
    if (features.retry) $("#retry").hidden = !["failed", "canceled"].includes(job.status);
  }
}

/**
 * The job's attempts (`job`: as last shown). The route reads the job's row,
 * which gets a running attempt's start up to a second after its tracker
 * told the watch (README "How a job runs", step 2): that attempt is shown
 * running from the watch meanwhile.
 */
async function loadAttempts(api, job, $) {
  const { attempts } = await api(`/v1/jobs/${job.id}/attempts`);
  if (job.status === "running" && attempts.length < job.attempts) {
    attempts.push({ attempt: job.attempts, status: "running", ended_at: null, error: null });
  }
  const items = attempts.map((a) => {
    const item = document.createElement("li");
    item.className = `status-${a.status}`;
    const head = Object.assign(document.createElement("strong"), { textContent: `Attempt ${a.attempt}: ${a.status}` });
    item.append(head, a.ended_at ? ` · ended ${time(a.ended_at)}` : "");
    if (a.error)
      item.append(Object.assign(document.createElement("p"), { textContent: `${a.error.code}: ${a.error.message}` }));
    else if (a.status === "failed")
      item.append(Object.assign(document.createElement("p"), { textContent: "error not kept (its worker was lost)" }));
    return item;
  });
  $("#attempts")?.replaceChildren(...items);
  if ($("#no-attempts")) $("#no-attempts").hidden = attempts.length > 0;
}

async function loadLogs(client, id, $) {
  const { logs, truncated } = await client.logs(id);
  const text = logs.map((l) => `${time(l.at)}  #${l.attempt} ${l.level.padEnd(5)} ${l.message}`).join("\n");
  if ($("#job-logs")) $("#job-logs").textContent = (text || "(nothing logged)") + (truncated ? "\n… truncated" : "");
}

async function loadDeliveries(client, id, $, showError) {
  const { events, deliveries } = await client.deliveries(id);
  $("#events")?.replaceChildren(
    ...events.map((event) => {
      const row = document.createElement("tr");
      const button = Object.assign(document.createElement("button"), {
        type: "button",
        textContent: `Redeliver ${event.type}`,
      });
      button.addEventListener("click", async () => {
        button.disabled = true;
        await client.redeliver(id, event.id).catch(showError);
        setTimeout(() => loadDeliveries(client, id, $, showError).catch(showError), 1500);
      });
      const next = event.next_attempt_at ? time(event.next_attempt_at) : "—";
      for (const content of [event.type, event.status, String(event.attempts), next, button])
        row.insertCell().append(content);
      row.cells[1].className = event.status === "failed" ? "status-failed" : "";
      return row;
    }),
  );
  $("#deliveries")?.replaceChildren(
    ...deliveries.map((d) => {
      const row = document.createElement("tr");
      const body = d.response_body
        ? Object.assign(document.createElement("code"), { textContent: d.response_body })
        : "—";
      const cells = [
        d.event_type,
        String(d.attempt),
        d.trigger,
        time(d.attempted_at),
        deliveryOutcome(d),
        milliseconds(d.duration_ms),
        d.next_attempt_at ? time(d.next_attempt_at) : "—",
        body,
      ];
      for (const content of cells) row.insertCell().append(content);
      return row;
    }),
  );
  if ($("#no-deliveries")) $("#no-deliveries").hidden = events.length > 0;
  // Table headers with no rows under them read as a failure to load: show the tables only with events.
  if ($("#callback-tables")) $("#callback-tables").hidden = events.length === 0;
}
