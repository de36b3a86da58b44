// Horizontal bar charts in plain SVG: one bar per item, its value written beside it and in its
// aria-label ("ana@example.com: 12.5 keyframes/h"), so people and tests read the same numbers.
const SVG = "http://www.w3.org/2000/svg";
const ROW = 26;
const LABEL_W = 200;
const VALUE_W = 90;

function svg(tag, attributes = {}, text = undefined) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// items: [{label, value (number or null)}]; returns an <svg role=group> of labelled bars.
// `format(value)` writes the value; `maximum` fixes the scale (1 for scores), else the largest.
export function barChart(items, options) {
  const { title, unit = "", format = (v) => v.toFixed(1), maximum, width = 640, testid } = options;
  const height = Math.max(1, items.length) * ROW + 8;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "group",
    "aria-label": title,
    class: "chart",
    "data-testid": testid || "chart",
  });
  chart.append(svg("title", {}, title));
  const top = maximum || Math.max(0, ...items.map((item) => item.value || 0)) || 1;
  const span = width - LABEL_W - VALUE_W;
  items.forEach((item, index) => {
    const y = index * ROW + 4;
    const shown = item.value === null || item.value === undefined ? "—" : format(item.value);
    const said = `${item.label}: ${shown}${unit ? ` ${unit}` : ""}`;
    const bar = svg("g", { "data-testid": "bar", "aria-label": said, role: "img" });
    bar.append(
      svg(
        "text",
        { x: LABEL_W - 8, y: y + 16, "text-anchor": "end", class: "chart-label" },
        item.label,
      ),
      svg("rect", {
        x: LABEL_W,
        y: y + 3,
        height: ROW - 8,
        width: Math.max(item.value ? 2 : 0, (span * (item.value || 0)) / top),
        rx: 3,
        class: "chart-bar",
      }),
      svg("text", { x: width - VALUE_W + 6, y: y + 16, class: "chart-value" }, shown),
    );
    bar.append(svg("title", {}, said));
    chart.append(bar);
  });
  if (!items.length) {
    chart.append(svg("text", { x: 8, y: 20, class: "chart-label" }, "no data yet"));
  }
  return chart;
}
