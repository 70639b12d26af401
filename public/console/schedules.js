import { query } from "./api.js";
import { time } from "./words.js";

/** The tenant's schedules, a page at a time, each with its jobs and a Pause / Resume button. */
export async function renderSchedules({ app, api, params, showError }) {
  app.append(document.getElementById("schedule-list").content.cloneNode(true));
  const $ = (selector) => app.querySelector(selector);
  const page = await api(`/v1/schedules?${query({ cursor: params.get("cursor") ?? "", limit: 20 })}`);
  $("#schedules").replaceChildren(
    ...page.schedules.map((schedule) => {
      const row = document.createElement("tr");
      const jobs = Object.assign(document.createElement("a"), {
        href: `#/?${query({ schedule_id: schedule.id })}`,
        textContent: schedule.name ?? schedule.id,
      });
      const toggle = Object.assign(document.createElement("button"), {
        type: "button",
        textContent: schedule.paused ? "Resume" : "Pause",
      });
      toggle.setAttribute("aria-label", `${schedule.paused ? "Resume" : "Pause"} ${schedule.name ?? schedule.id}`);
      toggle.addEventListener("click", async () => {
        toggle.disabled = true;
        const changed = await api(`/v1/schedules/${schedule.id}`, {
          method: "PATCH",
          body: { paused: !schedule.paused },
        }).catch(showError);
        if (changed) dispatchEvent(new HashChangeEvent("hashchange"));
      });
      const last = schedule.last_job_id
        ? Object.assign(document.createElement("a"), {
            href: `#/jobs/${schedule.last_job_id}`,
            textContent: time(schedule.last_run_at),
          })
        : "—";
      const cells = [
        jobs,
        `${schedule.cron} (${schedule.timezone})`,
        schedule.job.type,
        schedule.paused ? "paused" : "active",
        time(schedule.next_run_at),
        last,
        toggle,
      ];
      for (const content of cells) row.insertCell().append(content);
      return row;
    }),
  );
  $("#no-schedules").hidden = page.schedules.length > 0;
  const older = $("#schedules-older");
  older.hidden = !page.next_cursor;
  older.addEventListener("click", () => {
    location.hash = `#/schedules?${query({ cursor: page.next_cursor })}`;
  });
  return () => {};
}
