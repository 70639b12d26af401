// The last hour as an inline SVG bar chart: one stacked bar per minute, succeeded under failed.

const svgNs = "http://www.w3.org/2000/svg";
const element = (name, attributes) => {
  const node = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
};

/** An SVG of `perMinute` ([{ minute, succeeded, failed }], oldest first), labelled with its totals. */
export function minuteChart(perMinute) {
  const width = 600;
  const height = 120;
  const slot = width / perMinute.length;
  const peak = Math.max(1, ...perMinute.map((m) => m.succeeded + m.failed));
  const totals = perMinute.reduce((t, m) => ({ s: t.s + m.succeeded, f: t.f + m.failed }), { s: 0, f: 0 });
  const label = `Finished jobs per minute over the last hour: ${totals.s} succeeded, ${totals.f} failed; the busiest minute had ${peak === 1 && totals.s + totals.f === 0 ? 0 : peak}.`;
  const svg = element("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart" });
  svg.append(Object.assign(element("title", {}), { textContent: label }));
  perMinute.forEach((m, i) => {
    const x = i * slot + 1;
    const ok = (m.succeeded / peak) * (height - 4);
    const bad = (m.failed / peak) * (height - 4);
    const tip = `${new Date(m.minute).toLocaleTimeString()}: ${m.succeeded} succeeded, ${m.failed} failed`;
    for (const [value, y, kind] of [
      [ok, height - ok, "succeeded"],
      [bad, height - ok - bad, "failed"],
    ]) {
      if (value <= 0) continue;
      const bar = element("rect", { x, y, width: slot - 2, height: value, class: `bar-${kind}` });
      bar.append(Object.assign(element("title", {}), { textContent: tip }));
      svg.append(bar);
    }
  });
  return svg;
}
