/* Live batch and run pages: render a snapshot, apply progress events, reconnect and re-sync after a drop. */
(function () {
  "use strict";
  const ICONS = {pending: "◌", queued: "○", running: "◐", succeeded: "●", failed: "✖", cancelled: "⊘", skipped: "–"};
  const FINISHED = ["succeeded", "failed", "cancelled"];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value; else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function seconds(value) {
    if (value === null || value === undefined) return "";
    if (value < 60) return value.toFixed(1) + " s";
    const minutes = Math.floor(value / 60), hours = Math.floor(minutes / 60);
    return hours ? `${hours} h ${minutes % 60} min` : `${minutes} min ${Math.round(value % 60)} s`;
  }

  function timeLeft(value) {
    if (value < 60) return "less than a minute left";
    const minutes = Math.round(value / 60);
    return minutes < 120 ? `about ${minutes} min left` : `about ${(minutes / 60).toFixed(1)} h left`;
  }

  /* A running step's progress: the app's own figure when it reports one, else an estimate from
     started_at and the expected duration (runs/estimates.py), which moves on between events. */
  function stepProgress(step, expected) {
    let fraction = null, text;
    if (step.reported) {
      fraction = step.reported.progress;
      text = `${Math.round(100 * fraction)} % (reported by the app)` + (step.reported.message ? `: ${step.reported.message}` : "");
    } else if (expected && step.started_at) {
      const elapsed = Math.max(0, (Date.now() - Date.parse(step.started_at)) / 1000);
      fraction = Math.min(elapsed / expected, 0.99);
      text = elapsed < expected ? `${timeLeft(expected - elapsed)} (estimate)` : "taking longer than usual (estimate)";
    } else {
      text = "no estimate yet: this app has no finished steps";
    }
    const node = el("div", {class: "step-progress", "data-fraction": fraction === null ? null : fraction.toFixed(3)});
    if (step.job_state) node.append(el("div", {class: "job-state", text: step.job_state}));
    if (fraction !== null) {
      node.append(el("div", {class: "step-bar"}, el("div", {class: "bg-running", style: `width:${(100 * fraction).toFixed(1)}%`})));
    }
    node.append(el("span", {class: "step-left", text}));
    return node;
  }

  /* A websocket that reconnects with backoff; every (re)connection starts with a fresh snapshot. */
  function liveSocket(path, onMessage, onState) {
    let delay = 500, socket = null;
    function open() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}${path}`);
      socket.onopen = () => { delay = 500; onState("live"); };
      socket.onmessage = (message) => onMessage(JSON.parse(message.data));
      socket.onclose = () => {
        onState("down");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    open();
    return {send: (data) => socket && socket.readyState === 1 && socket.send(JSON.stringify(data))};
  }

  function showConnection(state) {
    const node = document.getElementById("connection");
    node.className = "connection " + state;
    node.textContent = state === "live" ? "● live" : "○ reconnecting…";
    document.body.dataset.connection = state;
  }

  /* ---- batch page ---- */
  function batchPage(root) {
    let state = JSON.parse(document.getElementById("snapshot").textContent);
    const stepSeq = {}, runSeq = {};
    let countsSeq = state.seq, resyncTimer = null, socket = null;

    function resync() {
      clearTimeout(resyncTimer);
      resyncTimer = setTimeout(() => socket.send({type: "resync", page: state.page, status: state.status_filter}), 200);
    }

    function stepCell(row, column) {
      const step = row.steps[column.position];
      if (!row.run) return el("td", {class: "step"}, "");
      const status = step ? step.status : "queued";
      const cell = el("td", {class: "step status-" + status, "data-status": status, "data-position": column.position},
        el("span", {title: status, text: ICONS[status] + " " + status}));
      if (step && step.found_nothing) cell.append(el("span", {class: "status-cancelled", text: ", found nothing",
        title: "The app added no annotation, though its input had what it reads."}));
      if (step && step.duration !== null) cell.append(" " + seconds(step.duration));
      if (step && status === "running") cell.append(stepProgress(step, step.expected || column.expected));
      if (step && step.attempts > 1) cell.append(` (${step.attempts} attempts)`);
      if (step && step.interruptions) cell.append(` (interrupted ${step.interruptions}×: its worker stopped)`);
      if (step && step.error) {
        const error = el("span", {class: "error", title: step.error, text: " why?"});
        error.addEventListener("click", () => alert(step.error));
        cell.append(error);
      }
      return cell;
    }

    function rowNode(row) {
      const run = row.run;
      const runCell = run
        ? el("td", {class: "status-" + run.status},
            el("a", {href: run.url, text: ICONS[run.status] + " " + run.status}),
            run.attempt > 1 ? ` (attempt ${run.attempt})` : "")
        : el("td", {class: "status-queued", text: "not started"});
      const tr = el("tr", {"data-media-file": row.media_file, "data-status": run ? run.status : "not_started"},
        el("td", {}, run ? el("a", {href: run.url, text: row.guid}) : row.guid,
          run && run.input ? el("div", {class: "run-input", text: "from " + run.input}) : null), runCell);
      for (const column of state.columns) tr.append(stepCell(row, column));
      return tr;
    }

    function renderHeader() {
      const counts = state.batch_counts, total = state.total_files;
      const started = Object.values(counts).reduce((a, b) => a + b, 0);
      const finished = FINISHED.reduce((sum, status) => sum + (counts[status] || 0), 0);
      const countsNode = document.getElementById("counts");
      countsNode.replaceChildren(
        el("span", {class: "status-queued", "data-count": "not_started", text: `${total - started} not started`}),
        ...Object.entries(counts).map(([status, n]) =>
          el("span", {class: "status-" + status, "data-count": status, text: `${n} ${status}`})));
      const bar = document.getElementById("progress");
      bar.replaceChildren(...["succeeded", "failed", "cancelled", "running"].map((status) =>
        el("div", {class: "bg-" + status, style: `width:${total ? 100 * (counts[status] || 0) / total : 0}%`})));
      bar.title = `${finished} of ${total} files finished`;
      document.getElementById("finished").textContent = `${finished} of ${total} files finished`;
      const active = (counts.queued || 0) + (counts.running || 0) > 0;
      const start = state.started_at && Date.parse(state.started_at);
      const end = active || !state.finished_at ? Date.now() : Date.parse(state.finished_at);
      document.getElementById("elapsed").textContent = start ? seconds(Math.max(0, end - start) / 1000) : "not started";
      document.getElementById("estimate").textContent = !active ? "—" : state.estimate === null
        ? "no estimate: these apps have no finished steps yet"
        : `about ${seconds(state.estimate)} left (an estimate from the apps' recent steps)`;
    }

    function render() {
      const head = document.getElementById("rows-head");
      head.replaceChildren(el("tr", {}, el("th", {text: "GUID"}), el("th", {text: "run"}),
        ...state.columns.map((c) => el("th", {text: `${c.position}. ${c.app}`}))));
      document.getElementById("rows").replaceChildren(...state.rows.map(rowNode));
      renderHeader();
    }

    function replaceRow(row) {
      const old = root.querySelector(`tr[data-media-file="${row.media_file}"]`);
      if (old) old.replaceWith(rowNode(row));
    }

    function apply(event) {
      if (event.type === "snapshot") {
        state = event; countsSeq = event.seq;
        for (const key of Object.keys(stepSeq)) delete stepSeq[key];
        for (const key of Object.keys(runSeq)) delete runSeq[key];
        render();
        return;
      }
      if (event.seq <= state.seq) return;  // already in the snapshot
      if (event.batch_counts && event.seq > countsSeq) { state.batch_counts = event.batch_counts; countsSeq = event.seq; }
      if (event.type === "batch") { renderHeader(); resync(); return; }  // many runs changed at once
      if (event.type === "run" && event.started_at && (!state.started_at || event.started_at < state.started_at)) {
        state.started_at = event.started_at;
      }
      if (event.type === "run" && event.finished_at && (!state.finished_at || event.finished_at > state.finished_at)) {
        state.finished_at = event.finished_at;
      }
      const row = state.rows.find((r) => r.media_file === event.media_file);
      if (row && event.type === "run") {
        if (!row.run || row.run.id !== event.run) {
          row.run = {id: event.run, status: event.status, attempt: event.attempt, error: event.error,
                     url: `/runs/${event.run}/live/`};
          row.steps = {};
          resync();  // a new attempt may reuse finished steps: ask for them
        } else if ((runSeq[event.run] || 0) < event.seq) {
          runSeq[event.run] = event.seq;
          Object.assign(row.run, {status: event.status, error: event.error});
          if (event.status === "failed" || event.status === "cancelled") {
            for (const column of state.columns) {
              const step = row.steps[column.position];
              if (!step) row.steps[column.position] = {status: "skipped", attempts: 0, duration: null, error: ""};
              else if (step.status === "queued") step.status = "skipped";
            }
          }
        }
        replaceRow(row);
      } else if (row && event.type === "step" && row.run && row.run.id === event.run) {
        const key = `${event.run}:${event.step}`;
        if ((stepSeq[key] || 0) < event.seq) {
          stepSeq[key] = event.seq;
          const before = row.steps[event.step];  // events do not carry a file's own expected duration
          row.steps[event.step] = before && before.expected ? {...event, expected: before.expected} : event;
          replaceRow(row);
        }
      }
      renderHeader();
    }

    for (const form of root.querySelectorAll(".live-actions form")) {
      form.addEventListener("submit", async (submit) => {
        submit.preventDefault();  // the page stays; the websocket shows what happens
        const said = document.getElementById("action-result");
        try {
          const response = await fetch(form.action, {method: "POST", body: new FormData(form),
                                                     headers: {Accept: "application/json"}});
          const answer = await response.json();
          said.className = response.ok ? "status-succeeded" : "status-failed";
          said.textContent = answer.message;
        } catch (error) {
          said.className = "status-failed";
          said.textContent = "Chowda could not be reached; check your connection and try again.";
        }
      });
    }

    render();
    const query = new URLSearchParams({page: state.page, status: state.status_filter});
    socket = liveSocket(`/ws/batches/${state.batch}/?${query}`, apply, showConnection);
    let ticks = 0;
    setInterval(() => {
      if ((state.batch_counts.queued || 0) + (state.batch_counts.running || 0) === 0) return;
      for (const row of state.rows) {  // running steps' estimated progress moves on
        if (Object.values(row.steps).some((step) => step.status === "running")) replaceRow(row);
      }
      renderHeader();  // the elapsed time moves on
      if (++ticks % 15 === 0) resync();  // and the estimate is taken again
    }, 1000);
  }

  /* ---- run page ---- */
  function runPage(root) {
    let state = JSON.parse(document.getElementById("snapshot").textContent);
    let socket = null, timer = null;

    function render() {
      document.getElementById("run-status").className = "status-" + state.status;
      document.getElementById("run-status").textContent = ICONS[state.status] + " " + state.status;
      document.getElementById("run-error").textContent = state.error || "";
      const final = document.getElementById("final-mmif");
      final.replaceChildren(state.final_mmif ? el("a", {href: state.final_mmif, text: `${state.guid}.mmif`}) : "—");
      // Deliverables are made from the final MMIF: offered only once there is one.
      document.getElementById("deliverables-links").hidden = !state.final_mmif;
      const none = document.getElementById("no-deliverables");
      none.hidden = Boolean(state.final_mmif);
      none.textContent = ["failed", "cancelled"].includes(state.status)
        ? "None: the run did not succeed, so it has no final MMIF to make them from."
        : "None yet: they are made from the final MMIF once the run succeeds.";
      const starts = state.steps.map((s) => s.started_at).filter(Boolean).map(Date.parse);
      const ends = state.steps.map((s) => s.finished_at || (s.started_at && new Date().toISOString()))
        .filter(Boolean).map(Date.parse);
      const t0 = Math.min(...starts), t1 = Math.max(...ends, t0 + 1);
      const body = document.getElementById("steps");
      body.replaceChildren(...state.steps.map((step) => {
        const bar = el("div", {class: "timeline"});
        if (step.started_at) {
          const start = Date.parse(step.started_at), end = step.finished_at ? Date.parse(step.finished_at) : Date.now();
          bar.append(el("div", {class: "bg-" + step.status,
            style: `left:${100 * (start - t0) / (t1 - t0)}%;width:${100 * (end - start) / (t1 - t0)}%`,
            title: `${step.started_at} → ${step.finished_at || "now"}`}));
        }
        const links = Object.entries(step.links).map(([kind, href]) => el("a", {href, text: kind + " "}));
        const views = step.views.map((view) => el("div", {title: view.app},
          `${view.name}: ` + (Object.entries(view.annotations).map(([t, n]) => `${n} ${t}`).join(", ") || "no annotations"),
          view.warnings.length ? el("div", {class: "status-cancelled", text: "warnings: " + view.warnings.join("; ")}) : null));
        const error = step.error ? el("div", {class: "status-failed step-detail", text: step.error}) : null;
        const notice = step.notice ? el("div", {class: "status-cancelled step-detail found-nothing", text: step.notice}) : null;
        const trace = step.stack_trace
          ? el("details", {}, el("summary", {text: "stack trace"}), el("pre", {class: "trace", text: step.stack_trace}))
          : null;
        const log = step.log_tail
          ? el("details", {class: "log-tail"}, el("summary", {text: "the app's log (last lines)"}), el("pre", {class: "trace", text: step.log_tail}))
          : null;
        return el("tr", {"data-position": step.position, "data-status": step.status},
          el("td", {text: `${step.position}. ${step.app}`}),
          el("td", {class: "status-" + step.status}, ICONS[step.status] + " " + step.status,
            step.found_nothing ? el("span", {class: "status-cancelled", text: ", found nothing"}) : null,
            step.status === "running" ? stepProgress(step, step.expected) : null),
          el("td", {text: String(step.attempts) + (step.interruptions ? ` (${step.interruptions} interrupted)` : "")}),
          el("td", {text: seconds(step.duration)}),
          el("td", {}, bar),
          el("td", {}, ...links),
          el("td", {}, error, notice, trace, log, ...views));
      }));
    }

    function apply(event) {
      if (event.type === "snapshot") { state = event; render(); return; }
      if (event.seq <= state.seq || event.run !== state.run) return;
      clearTimeout(timer);
      timer = setTimeout(() => socket.send({type: "resync"}), 100);  // links and views come with the snapshot
    }

    render();
    socket = liveSocket(`/ws/runs/${state.run}/`, apply, showConnection);
    let ticks = 0;
    setInterval(() => {
      if (state.status !== "running") return;
      render();
      // An app that reports progress is asked again with the next snapshot.
      if (++ticks % 10 === 0 && state.steps.some((step) => step.reported)) socket.send({type: "resync"});
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("live");
    if (root && root.dataset.page === "batch") batchPage(root);
    if (root && root.dataset.page === "run") runPage(root);
  });
})();
