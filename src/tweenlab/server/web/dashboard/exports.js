// Export a video's annotations: the format, which frames, frame images or none; the job's
// progress, then a download link to the zip.
import { followJob, percent } from "./jobs.js";
import { attempt, element, errorLine, field, input, section, select } from "./ui.js";

const FORMATS = [
  ["coco", "COCO"],
  ["yolo", "YOLO"],
  ["mot", "MOT Challenge"],
  ["cvat_video", "CVAT for video 1.1"],
  ["datumaro", "Datumaro"],
  ["native", "tweenlab JSON (lossless)"],
];
const FRAMES = [
  ["all", "every frame"],
  ["keyframes", "keyframes only"],
  ["every", "every N frames"],
];
const IMAGES = [
  ["", "no images"],
  ["jpg", "JPEG"],
  ["png", "PNG"],
];

export function exportSection(state) {
  const error = errorLine("export-error");
  const video = select("video", [], "", { "data-testid": "export-video" });
  state.on("videos", (videos) => {
    const keep = video.value;
    video.replaceChildren(
      ...videos
        .filter((v) => v.status === "ready")
        .map((v) => element("option", { value: v.id, selected: String(v.id) === keep }, v.name)),
    );
  });
  const format = select("format", FORMATS, "coco", { "data-testid": "export-format" });
  const frames = select("frames", FRAMES, "all", { "data-testid": "export-frames" });
  const every = input("every", {
    type: "number",
    min: 1,
    value: 10,
    hidden: true,
    "data-testid": "export-every",
  });
  frames.addEventListener("change", () => (every.hidden = frames.value !== "every"));
  const images = select("images", IMAGES, "", { "data-testid": "export-images" });
  const progress = element("progress", {
    max: 100,
    value: 0,
    hidden: true,
    "data-testid": "export-progress",
  });
  const result = element("p", { "data-testid": "export-result" });
  const form = element(
    "form",
    { class: "row", "data-testid": "export-form" },
    field("Video", video),
    field("Format", format),
    field("Frames", frames),
    every,
    field("Images", images),
    element("button", { type: "submit", "data-testid": "start-export" }, "Export"),
    progress,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      video_id: Number(video.value),
      format: format.value,
      frames: frames.value === "every" ? `every:${Number(every.value)}` : frames.value,
      images: images.value || null,
    };
    const path = `/projects/${state.id}/exports`;
    const job = await attempt(error, state.toast, () => state.api.post(path, body));
    if (!job) return;
    progress.hidden = false;
    result.textContent = "exporting…";
    const show = (now) => showJob(state, now, progress, result, error);
    state.whenGone(followJob(state.api, job.id, show));
  });
  return section("Export", "export-section", form, result, error);
}

function showJob(state, job, progress, result, error) {
  progress.value = percent(job);
  if (job.state === "succeeded") {
    progress.hidden = true;
    result.replaceChildren(
      "Ready: ",
      element(
        "a",
        {
          href: `/api/projects/${state.id}/exports/${job.id}/download`,
          download: `export-${job.id}.zip`,
          "data-testid": "export-download",
        },
        `export-${job.id}.zip`,
      ),
    );
  } else if (["failed", "cancelled"].includes(job.state)) {
    progress.hidden = true;
    result.textContent = "";
    error.textContent = `export ${job.state}: ${job.error || ""}`;
  } else {
    result.textContent = `exporting… ${percent(job)}%`;
  }
}
