/* A media source's page: its latest sync, kept current over a websocket (pages done, counts, the sentence). */
(function () {
  "use strict";
  const COUNTS = ["pages", "seen", "new", "updated", "unchanged", "missing", "skipped", "errors"];

  function show(panel, sync) {
    const link = document.getElementById("sync-link");
    const status = document.getElementById("sync-status");
    if (!sync.sync) {
      link.textContent = "No sync yet";
      link.removeAttribute("href");
      status.textContent = "";
      return;
    }
    link.textContent = `Sync ${sync.sync}`;
    link.href = panel.dataset.syncUrl.replace("/0/", `/${sync.sync}/`);
    status.textContent = sync.status_label;
    status.className = `status-${sync.status}`;
    const counts = document.getElementById("sync-counts");
    counts.replaceChildren(...COUNTS.map((name) => {
      const span = document.createElement("span");
      span.textContent = `${name}: ${Number(sync[name] || 0).toLocaleString()}`;
      return span;
    }));
    document.getElementById("sync-sentence").textContent = sync.sentence || (sync.active ? "Listing the source…" : "");
    document.body.dataset.syncStatus = sync.status;
  }

  function connect(panel) {
    let delay = 500, latest = 0;
    function open() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}${panel.dataset.socket}`);
      const connection = document.getElementById("connection");
      socket.onopen = () => { delay = 500; connection.className = "connection live"; connection.textContent = "● live"; };
      socket.onmessage = (message) => {
        const sync = JSON.parse(message.data);
        if (sync.type !== "sync" || (sync.sync && sync.sync < latest)) return; // an older sync's late event
        latest = sync.sync || latest;
        show(panel, sync);
      };
      socket.onclose = () => {
        connection.className = "connection down";
        connection.textContent = "○ reconnecting…";
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    open();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const panel = document.getElementById("sync-live");
    if (!panel) return;
    show(panel, JSON.parse(document.getElementById("latest-sync").textContent));
    connect(panel);
  });
})();
