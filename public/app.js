// The operator's console: plain modules, no framework. Jobs go through the same TypeScript
// client users get (built to /vendor/edgejobs-client.js); the console's own routes through api.js.

import { apiWith } from "/console/api.js";
import { renderBatch } from "/console/batch.js";
import { renderFailing } from "/console/failing.js";
import { renderJob } from "/console/job.js";
import { renderJobs } from "/console/jobs.js";
import { renderNewJob } from "/console/new-job.js";
import { renderSchedules } from "/console/schedules.js";
import { EdgejobsClient } from "/vendor/edgejobs-client.js";

const KEY = "edgejobs.apiKey";
const app = document.getElementById("app");
const errorBox = document.getElementById("error");
let stopCurrentView = () => {};
let features = null;

function showError(error) {
  errorBox.hidden = !error;
  errorBox.textContent = error ? `${error.code ? `${error.code}: ` : ""}${error.message}` : "";
  if (error?.status === 401) signOut();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  route();
}

/** Which optional routes this service has, from its own OpenAPI document: no button for a route it lacks. */
async function detectFeatures() {
  const { paths } = await (await fetch("/openapi.json")).json();
  return {
    retry: Boolean(paths["/v1/jobs/{id}/retry"]),
    batches: Boolean(paths["/v1/batches/{id}"]),
    schedules: Boolean(paths["/v1/schedules"]),
  };
}

async function route() {
  stopCurrentView();
  stopCurrentView = () => {};
  app.replaceChildren();
  const key = sessionStorage.getItem(KEY);
  document.getElementById("sign-out").hidden = !key;
  document.getElementById("main-nav").hidden = !key;
  if (!key) return renderSignIn();
  const client = new EdgejobsClient({ baseUrl: location.origin, apiKey: key });
  const [path, search] = location.hash.slice(1).split("?");
  const [, page, id] = (path ?? "").split("/");
  const view = { app, api: apiWith(key), client, params: new URLSearchParams(search ?? ""), showError };
  markCurrent(page);
  try {
    features ??= await detectFeatures();
    document.getElementById("schedules-link").hidden = !features.schedules;
    if (page === "jobs" && id) stopCurrentView = await renderJob({ ...view, id: decodeURIComponent(id), features });
    else if (page === "new") stopCurrentView = await renderNewJob(view);
    else if (page === "deliveries") stopCurrentView = await renderFailing(view);
    else if (page === "schedules" && features.schedules) stopCurrentView = await renderSchedules(view);
    else if (page === "batches" && id && features.batches) {
      stopCurrentView = await renderBatch({ ...view, id: decodeURIComponent(id) });
    } else stopCurrentView = await renderJobs(view);
    // Wide tables and long text scroll inside their box (never the page, at phone width):
    // keyboard users reach those boxes too (WCAG 2.1.1; axe's scrollable-region-focusable).
    for (const box of app.querySelectorAll(".scroll, pre")) box.tabIndex = 0;
    showError(null);
  } catch (error) {
    showError(error);
  }
}

function markCurrent(page) {
  const current = { jobs: "#/", new: "#/new", deliveries: "#/deliveries", schedules: "#/schedules" }[page || "jobs"];
  for (const link of document.querySelectorAll("#main-nav a")) {
    if (link.getAttribute("href") === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function renderSignIn() {
  app.append(document.getElementById("sign-in").content.cloneNode(true));
  app.querySelector("#sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, new FormData(event.target).get("apiKey").trim());
    showError(null);
    route();
  });
  app.querySelector("#api-key").focus();
}

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
