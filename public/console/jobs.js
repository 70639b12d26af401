import { query } from "./api.js";
import { minuteChart } from "./chart.js";
import { duration, percent, time } from "./words.js";

const statuses = ["scheduled", "queued", "running", "succeeded", "failed", "canceled"];
const terminal = new Set(["succeeded", "failed", "canceled"]);

/**
 * The overview: counts per status (each a filter), the last hour's chart, and
 * the job list with its filters and cursor paging. Filters and the page live
 * in the address (`#/?status=failed&cursor=…`), so Back and reload keep them.
 * Refreshes itself; returns the function that stops that.
 */
export async function renderJobs({ app, api, client, params, showError }) {
  app.append(document.getElementById("job-list").content.cloneNode(true));
  const $ = (selector) => app.querySelector(selector);
  const filters = $("#filters");
  for (const type of (await client.jobTypes()).job_types) filters.type.append(new Option(type.name, type.name));
  for (const name of ["status", "type", "batch_id", "schedule_id"]) filters[name].value = params.get(name) ?? "";
  const go = (changes) => {
    const next = Object.fromEntries(params);
    Object.assign(next, changes);
    location.hash = `#/?${query(next)}`;
  };
  filters.addEventListener("change", () => go({ ...Object.fromEntries(new FormData(filters)), cursor: "", back: "" }));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    go({ ...Object.fromEntries(new FormData(filters)), cursor: "", back: "" });
  });

  const refresh = async () => {
    const filter = Object.fromEntries(
      ["status", "type", "batch_id", "schedule_id"].map((n) => [n, params.get(n) ?? ""]),
    );
    const [stats, page, failing] = await Promise.all([
      api("/v1/stats"),
      api(`/v1/jobs?${query({ ...filter, cursor: params.get("cursor") ?? "", limit: 20 })}`),
      api("/v1/failing-deliveries?limit=100"),
    ]);
    if (!$("#jobs")) return;
    showCounts($("#counts"), stats, (status) => go({ status, cursor: "", back: "" }));
    $("#chart").replaceChildren(minuteChart(stats.per_minute));
    $("#chart-note").hidden = !stats.per_minute_partial;
    const failingByJob = new Map(failing.events.map((e) => [e.job_id, e]));
    $("#jobs").replaceChildren(...page.jobs.map((job) => jobRow(job, failingByJob.get(job.id))));
    labelCells($("#jobs"));
    $("#no-jobs").hidden = page.jobs.length > 0;
    const older = $("#older");
    older.hidden = !page.next_cursor;
    older.onclick = () =>
      go({
        cursor: page.next_cursor,
        back: [params.get("back"), params.get("cursor") ?? "-"].filter(Boolean).join("."),
      });
    const newer = $("#newer");
    newer.hidden = !params.get("cursor");
    newer.onclick = () => {
      const back = (params.get("back") ?? "").split(".").filter(Boolean);
      const previous = back.pop();
      go({ cursor: previous === "-" || !previous ? "" : previous, back: back.join(".") });
    };
  };
  await refresh();
  // Every 3 s while the tab is shown, one refresh at a time: a hidden tab or a slow answer costs nothing more.
  let busy = false;
  const timer = setInterval(() => {
    if (busy || document.hidden) return;
    busy = true;
    refresh()
      .catch(showError)
      .finally(() => {
        busy = false;
      });
  }, 3000);
  return () => clearInterval(timer);
}

function showCounts(list, stats, choose) {
  list.replaceChildren(
    ...statuses.map((status) => {
      const item = document.createElement("li");
      const button = Object.assign(document.createElement("button"), {
        type: "button",
        className: `count status-${status}`,
      });
      const capped = stats.counts_capped.includes(status) ? "+" : "";
      button.append(
        Object.assign(document.createElement("strong"), {
          textContent: `${stats.counts[status].toLocaleString()}${capped}`,
        }),
        ` ${status}`,
      );
      button.addEventListener("click", () => choose(status));
      item.append(button);
      return item;
    }),
  );
}

function jobRow(job, failing) {
  const row = document.createElement("tr");
  const link = Object.assign(document.createElement("a"), { href: `#/jobs/${job.id}`, textContent: job.id });
  const progress = job.status === "succeeded" ? percent(100) : job.progress ? percent(job.progress.percent) : "—";
  const cells = [
    link,
    job.type,
    job.status,
    progress,
    `${job.attempts} / ${job.max_attempts}`,
    job.error ? `${job.error.code}: ${job.error.message}` : "—",
    duration(job),
    callbackState(job, failing),
    time(job.created_at),
  ];
  for (const content of cells) row.insertCell().append(content);
  row.cells[2].className = `status-${job.status}`;
  row.cells[5].className = "error-cell";
  return row;
}

/**
 * What became of the job's callbacks, as far as the list knows without asking per job: the
 * newest 100 failing events. Past them, and before a first failed attempt is retried, it cannot
 * tell, so it says only that it saw no failure (the job's page shows every delivery).
 */
function callbackState(job, failing) {
  if (!job.callback_url) return "none";
  if (failing) return failing.status === "failed" ? "failed" : `retrying (${failing.attempts} attempts)`;
  return terminal.has(job.status) ? "no failure seen" : "waiting";
}

/** Names each cell after its column (`data-label`), so a phone shows each row as a card of labelled lines. */
function labelCells(body) {
  const labels = [...body.closest("table").querySelectorAll("thead th")].map((th) => th.textContent);
  for (const row of body.rows) for (const cell of row.cells) cell.dataset.label = labels[cell.cellIndex] ?? "";
}
