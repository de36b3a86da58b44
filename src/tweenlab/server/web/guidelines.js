// The project's annotation guidelines, as the editor and the dashboard show them: the Markdown
// rendered (headings, paragraphs, lists, emphasis, code, links) with its example frames as
// images, exactly the frames ![caption](frame:VIDEO/FRAME) names. Nothing in the Markdown
// becomes HTML as such: text is escaped, links keep to http(s).
//
//   const unmount = await mountGuidelines(container, {api, projectId});

import { element } from "./app.js";

export async function mountGuidelines(container, { api, projectId }) {
  const guidelines = await api.get(`/projects/${projectId}/guidelines`);
  const box = element("div", { class: "guidelines", "data-testid": "guidelines" });
  if (!guidelines.markdown.trim()) {
    box.append(element("p", { class: "muted" }, "This project has no guidelines yet."));
  } else {
    box.append(...render(guidelines.markdown, guidelines.examples));
  }
  container.append(box);
  return () => box.remove();
}

// Markdown -> DOM nodes (block level).
export function render(markdown, examples = []) {
  const images = new Map(examples.map((e) => [`${e.video_id}/${e.frame}`, e]));
  const nodes = [];
  let paragraph = [];
  let list = null;
  const flush = () => {
    if (paragraph.length) nodes.push(element("p", {}, inline(paragraph.join(" "), images)));
    paragraph = [];
  };
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    const item = line.match(/^\s*(?:[-*]|\d+\.)\s+(.*)$/);
    if (heading) {
      flush();
      list = null;
      nodes.push(element(`h${heading[1].length + 1}`, {}, inline(heading[2], images)));
    } else if (item) {
      flush();
      if (!list) {
        list = element("ul");
        nodes.push(list);
      }
      list.append(element("li", {}, inline(item[1], images)));
    } else if (!line.trim()) {
      flush();
      list = null;
    } else {
      list = null;
      paragraph.push(line.trim());
    }
  }
  flush();
  return nodes;
}

const INLINE =
  /!\[([^\]]*)\]\(frame:(\d+)\/(\d+)\)|\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)|\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`/g;

// One line of Markdown -> nodes (text stays text).
function inline(text, images) {
  const out = [];
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    if (m[2] !== undefined) {
      const example = images.get(`${m[2]}/${m[3]}`);
      const caption = m[1] || `frame ${m[3]}`;
      out.push(
        example && example.available
          ? element(
              "figure",
              { class: "example", "data-frame": m[3], "data-video": m[2] },
              element("img", { src: example.image, alt: caption, loading: "lazy" }),
              element("figcaption", {}, `${caption} (video ${m[2]}, frame ${m[3]})`),
            )
          : element("span", { class: "muted" }, `[${caption}: video ${m[2]} frame ${m[3]} is gone]`),
      );
    } else if (m[5] !== undefined) {
      out.push(element("a", { href: m[5], target: "_blank", rel: "noopener" }, m[4]));
    } else if (m[6] !== undefined) {
      out.push(element("strong", {}, m[6]));
    } else if (m[7] !== undefined) {
      out.push(element("em", {}, m[7]));
    } else {
      out.push(element("code", {}, m[8]));
    }
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
