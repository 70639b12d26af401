// The dashboard: plain modules, no framework. Everything goes through the
// same TypeScript client users get (built to /vendor/edgejobs-client.js).
import { EdgejobsClient } from "/vendor/edgejobs-client.js";

const KEY = "edgejobs.apiKey";
const app = document.getElementById("app");
const errorBox = document.getElementById("error");
let client = null;
let stopCurrentView = () => {};

const template = (id) => document.getElementById(id).content.cloneNode(true);
const $ = (selector) => app.querySelector(selector);
const json = (value) => (value === null || value === undefined ? "—" : JSON.stringify(value, null, 2));
const time = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function showError(error) {
  errorBox.hidden = !error;
  errorBox.textContent = error ? `${error.code ? `${error.code}: ` : ""}${error.message}` : "";
  if (error?.status === 401) signOut();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  client = null;
  route();
}

function signIn() {
  const key = sessionStorage.getItem(KEY);
  client = key ? new EdgejobsClient({ baseUrl: location.origin, apiKey: key }) : null;
  document.getElementById("sign-out").hidden = !client;
}

async function route() {
  stopCurrentView();
  stopCurrentView = () => {};
  signIn();
  app.replaceChildren();
  if (!client) return renderSignIn();
  const [, page, id] = location.hash.split("/");
  try {
    if (page === "jobs" && id) await renderJob(decodeURIComponent(id));
    else if (page === "new") await renderNewJob();
    else await renderList();
  } catch (error) {
    showError(error);
  }
}

function renderSignIn() {
  app.append(template("sign-in"));
  $("#sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, new FormData(event.target).get("apiKey").trim());
    showError(null);
    route();
  });
  $("#api-key").focus();
}

async function renderList() {
  app.append(template("job-list"));
  const filters = $("#filters");
  const types = (await client.jobTypes()).job_types;
  for (const type of types) filters.type.append(new Option(type.name, type.name));
  const refresh = async () => {
    const query = Object.fromEntries([...new FormData(filters)].filter(([, v]) => v));
    const { value: jobs = [] } = await client.list({ ...query, limit: 50 }).next();
    $("#jobs")?.replaceChildren(...jobs.map(jobRow));
  };
  filters.addEventListener("change", () => refresh().catch(showError));
  await refresh();
  const timer = setInterval(() => refresh().catch(showError), 2000);
  stopCurrentView = () => clearInterval(timer);
}

function jobRow(job) {
  const row = document.createElement("tr");
  const link = Object.assign(document.createElement("a"), { href: `#/jobs/${job.id}`, textContent: job.id });
  const cells = [
    link,
    job.type,
    job.status,
    job.progress ? `${Math.round(job.progress.percent)} %` : "—",
    time(job.created_at),
  ];
  for (const content of cells) row.insertCell().append(content);
  row.cells[2].className = `status-${job.status}`;
  return row;
}

async function renderJob(id) {
  app.append(template("job-page"));
  $("#job-id").textContent = id;
  const controller = new AbortController();
  stopCurrentView = () => controller.abort();
  $("#cancel").addEventListener("click", () => client.cancel(id).then(showJob, showError));
  showJob(await client.get(id));
  await loadDeliveries(id);
  (async () => {
    for await (const { data } of client.watch(id, { signal: controller.signal })) showJob(data);
    await loadDeliveries(id);
  })().catch((error) => error.name !== "AbortError" && showError(error));
}

function showJob(job) {
  if (!$("#job-status")) return;
  $("#job-status").textContent = job.status;
  $("#job-status").className = `status-${job.status}`;
  $("#job-attempts").textContent = `${job.attempts} of ${job.max_attempts}`;
  const percent = job.status === "succeeded" ? 100 : (job.progress?.percent ?? 0);
  $("#job-progress").value = percent;
  $("#job-progress-text").textContent = `${Math.round(percent)} %`;
  $("#job-progress-message").textContent = job.progress?.message ?? "";
  $("#job-input").textContent = json(job.input);
  $("#job-result").textContent =
    job.result_url && job.result === null ? `(large result: ${job.result_url})` : json(job.result);
  $("#job-error").textContent = json(job.error);
  $("#cancel").hidden = ["succeeded", "failed", "canceled"].includes(job.status);
}

async function loadDeliveries(id) {
  const { events, deliveries } = await client.deliveries(id);
  const rows = deliveries.map((d) => {
    const row = document.createElement("tr");
    const outcome = d.http_status ?? d.error ?? "—";
    for (const content of [d.event_type, d.attempt, d.trigger, time(d.attempted_at), String(outcome), d.duration_ms]) {
      row.insertCell().append(String(content));
    }
    return row;
  });
  $("#deliveries")?.replaceChildren(...rows);
  const buttons = events.map((event) => {
    const button = Object.assign(document.createElement("button"), {
      type: "button",
      textContent: `Redeliver ${event.type} (${event.status})`,
    });
    button.addEventListener("click", async () => {
      await client.redeliver(id, event.id).catch(showError);
      setTimeout(() => loadDeliveries(id).catch(showError), 1500);
    });
    return button;
  });
  $("#events")?.replaceChildren(...buttons);
}

async function renderNewJob() {
  app.append(template("new-job"));
  const form = $("#new-job-form");
  const types = (await client.jobTypes()).job_types;
  for (const type of types) form.type.append(new Option(type.name, type.name));
  const describe = () => {
    const type = types.find((t) => t.name === form.type.value);
    $("#new-type-description").textContent = type.description;
    $("#new-schema").textContent = json(type.input_schema);
    form.input.value = JSON.stringify(exampleFor(type.input_schema), null, 2);
  };
  form.type.addEventListener("change", describe);
  describe();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    let input;
    try {
      input = form.input.value.trim() ? JSON.parse(form.input.value) : undefined;
    } catch {
      return showError({ code: "invalid_json", message: "The input is not valid JSON." });
    }
    const request = { type: form.type.value, input };
    for (const name of ["delay_seconds", "max_attempts"])
      if (form[name].value) request[name] = Number(form[name].value);
    if (form.callback_url.value) request.callback_url = form.callback_url.value;
    try {
      const job = await client.submit(request);
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      showError(error);
    }
  });
}

/** A starting input from a JSON Schema: defaults, else the smallest valid value of each required field. */
function exampleFor(schema) {
  if (schema.default !== undefined) return schema.default;
  if (schema.type === "object") {
    const example = {};
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (schema.required?.includes(name) || property.default !== undefined) example[name] = exampleFor(property);
    }
    return example;
  }
  if (schema.type === "number" || schema.type === "integer") return schema.minimum ?? 0;
  if (schema.type === "string") return "";
  if (schema.type === "array") return [];
  if (schema.type === "boolean") return false;
  return { hello: "world" };
}

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
