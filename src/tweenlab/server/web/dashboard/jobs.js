// Following a job (ingest, export) until it is final: the server's event stream
// (/api/jobs/{id}/events), falling back to polling /api/jobs/{id} once a second if the stream
// fails. Returns a function that stops following.
const FINAL = new Set(["succeeded", "failed", "cancelled", "deleted"]);

// A browser keeps about six connections to a host: past MAX_STREAMS open streams, jobs are
// polled instead, so the page's own requests never queue behind event streams.
const MAX_STREAMS = 3;
let streams = 0;

export function followJob(api, jobId, onChange) {
  let stopped = false;
  let timer = null;
  let source = null;
  const seen = (job) => {
    if (stopped) return;
    onChange(job);
    if (FINAL.has(job.state)) stop();
  };
  async function poll() {
    if (stopped) return;
    try {
      seen(await api.get(`/jobs/${encodeURIComponent(jobId)}`));
    } catch (error) {
      console.warn(error);
    }
    if (!stopped) timer = setTimeout(poll, 1000);
  }
  function close() {
    if (source) {
      source.close();
      source = null;
      streams -= 1;
    }
  }
  function stop() {
    stopped = true;
    close();
    clearTimeout(timer);
  }
  if (streams >= MAX_STREAMS || typeof EventSource === "undefined") {
    poll();
    return stop;
  }
  streams += 1;
  source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events`);
  source.addEventListener("progress", (event) => seen(JSON.parse(event.data)));
  source.addEventListener("final", (event) => seen(JSON.parse(event.data)));
  source.onerror = () => {
    if (stopped) return;
    close();
    poll();
  };
  return stop;
}

export function percent(job) {
  return job.total ? Math.round((100 * job.done) / job.total) : 0;
}
