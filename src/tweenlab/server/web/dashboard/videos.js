// The project's videos: upload a file (its bytes as the request body, with a progress bar),
// then the ingest job's progress until the video is ready; a table of videos and their state.
import { followJob, percent } from "./jobs.js";
import { attempt, element, errorLine, field, section, tableHead } from "./ui.js";

export function videosSection(state) {
  const body = element("tbody");
  const error = errorLine("videos-error");
  const following = new Map(); // job id -> stop
  state.whenGone(() => following.forEach((stop) => stop()));
  state.on("videos", (videos) => {
    body.replaceChildren(...videos.map((video) => videoRow(video)));
    for (const video of videos) {
      if (!["uploaded", "ingesting"].includes(video.status) || !video.ingest_job_id) continue;
      if (following.has(video.ingest_job_id)) continue;
      following.set(video.ingest_job_id, followIngest(state, video, following));
    }
  });
  const table = element(
    "table",
    { "data-testid": "videos" },
    tableHead("Video", "Frames", "Size", "fps", "State"),
    body,
  );
  const parts = [table];
  if (state.may("manager")) parts.push(uploadForm(state, error));
  return section("Videos", "videos-section", ...parts, error);
}

function videoRow(video) {
  const progress = element("progress", {
    max: 100,
    value: 0,
    hidden: video.status !== "ingesting",
    "data-testid": "ingest-progress",
  });
  const status = `status status-${video.status}`;
  return element(
    "tr",
    { "data-testid": "video-row", "data-video": video.id, "data-name": video.name },
    element("td", {}, video.name),
    element("td", {}, video.frame_count),
    element("td", {}, video.width ? `${video.width}×${video.height}` : ""),
    element("td", {}, video.fps),
    element(
      "td",
      {},
      element("span", { class: status, "data-testid": "video-status" }, video.status),
      " ",
      progress,
      video.error ? element("span", { class: "error" }, ` ${video.error}`) : null,
    ),
  );
}

function followIngest(state, video, following) {
  return followJob(state.api, video.ingest_job_id, async (job) => {
    const row = document.querySelector(`[data-testid=video-row][data-video="${video.id}"]`);
    if (row) {
      const bar = row.querySelector("[data-testid=ingest-progress]");
      bar.hidden = false;
      bar.value = percent(job);
      row.querySelector("[data-testid=video-status]").textContent = `ingesting ${percent(job)}%`;
    }
    if (["succeeded", "failed", "cancelled", "deleted"].includes(job.state)) {
      following.delete(video.ingest_job_id);
      await state.load("videos");
    }
  });
}

function uploadForm(state, error) {
  const file = element("input", {
    type: "file",
    accept: "video/*",
    name: "video",
    "data-testid": "video-file",
  });
  const progress = element("progress", {
    max: 100,
    value: 0,
    hidden: true,
    "data-testid": "upload-progress",
  });
  const button = element("button", { type: "submit", "data-testid": "upload-video" }, "Upload");
  const form = element(
    "form",
    { class: "row", "data-testid": "upload-form" },
    field("Video file", file),
    button,
    progress,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    button.disabled = true;
    progress.hidden = false;
    const uploaded = await attempt(error, state.toast, () =>
      upload(state.id, file.files[0], (fraction) => (progress.value = Math.round(100 * fraction))),
    );
    button.disabled = false;
    progress.hidden = true;
    if (uploaded) {
      form.reset();
      state.toast(`${uploaded.name} uploaded; ingesting`);
      await state.load("videos");
    }
  });
  return form;
}

// POST the file as the body (the server takes raw bytes, not multipart) with progress events.
function upload(projectId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/projects/${projectId}/videos?name=${encodeURIComponent(file.name)}`);
    request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    const csrf = sessionStorage.getItem("tweenlab.csrf"); // api.js keeps the session's token here
    if (csrf) request.setRequestHeader("X-CSRF-Token", csrf);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      let body = request.responseText;
      try {
        body = JSON.parse(body);
      } catch {
        /* not JSON: keep the text */
      }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else {
        const error = new Error(`upload: ${request.status}`);
        reject(Object.assign(error, { status: request.status, body }));
      }
    };
    request.onerror = () => reject(new Error("the upload failed (network)"));
    request.send(file);
  });
}
