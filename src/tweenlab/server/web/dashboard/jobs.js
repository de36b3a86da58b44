// Following a job (ingest, export) until it is final: the server's event stream
// (/api/jobs/{id}/events), falling back to polling /api/jobs/{id} once a second if the stream
// fails. Returns a function that stops following.
const FINAL = new Set(["succeeded", "failed", "cancelled", "deleted"]);

export function followJob(api, jobId, onChange) {
  let stopped = false;
  let timer = null;
  const source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events`);
  const seen = (job) => {
    if (stopped) return;
    onChange(job);
    if (FINAL.has(job.state)) stop();
  };
  source.addEventListener("progress", (event) => seen(JSON.parse(event.data)));
  source.addEventListener("final", (event) => seen(JSON.parse(event.data)));
  source.onerror = () => {
    if (stopped) return;
    source.close();
    poll();
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
  function stop() {
    stopped = true;
    source.close();
    clearTimeout(timer);
  }
  return stop;
}

export function percent(job) {
  return job.total ? Math.round((100 * job.done) / job.total) : 0;
}
