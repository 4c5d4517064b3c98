"use strict";
// While the evaluation waits or runs, ask how far it has got every second; once it ends, show its results.
(function () {
  const box = document.getElementById("evaluation");
  if (!box || box.dataset.active !== "true") return;
  const status = document.getElementById("status");
  const sentence = document.getElementById("sentence");
  const progress = document.getElementById("progress");
  async function poll() {
    try {
      const answer = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (answer.ok) {
        const now = await answer.json();
        status.textContent = now.status_label;
        status.className = `status-${now.status}`;
        sentence.textContent = now.sentence;
        progress.textContent = `${now.files_done} of ${now.files_total} files`;
        if (!now.active) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      sentence.textContent = `Cannot reach Chowda to follow the evaluation (${error}); it goes on, and this page tries again.`;
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
