"use strict";
// Choosing another MMIF shows it at once.
document.getElementById("source")?.addEventListener("change", (event) => event.target.form.submit());

// The run's timeline: one lane per view, TimeFrames as bars coloured by label; a click seeks the player.
(function () {
  const source = document.getElementById("timeline-data");
  const box = document.getElementById("timeline");
  if (!source || !box) return;
  const data = JSON.parse(source.textContent);
  const player = document.getElementById("player");
  const tip = document.getElementById("timeline-tip");
  const PALETTE = ["#1565c0", "#9e9e9e", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#827717", "#ad1457", "#4e342e"];
  const colours = new Map();

  function colour(label) {
    if (!colours.has(label)) colours.set(label, PALETTE[colours.size % PALETTE.length]);
    return colours.get(label);
  }

  function time(seconds) {
    return `${Number(seconds).toFixed(3)} s`;
  }

  function length() {
    const played = player && Number.isFinite(player.duration) ? player.duration : 0;
    return Math.max(data.duration || 0, played) || 1;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function draw() {
    const total = length();
    box.replaceChildren();
    const axis = element("div", "axis");
    const ticks = element("div");
    for (let i = 0; i <= 4; i += 1) ticks.append(element("span", "", time((total * i) / 4)));
    axis.append(element("div"), ticks);
    box.append(axis);
    for (const lane of data.lanes) {
      const row = element("div", "lane");
      row.dataset.view = lane.view;
      const name = element("div", "lane-name", `${lane.view} ${lane.app}`);
      name.title = lane.merged ? `${lane.app}: many TimeFrames, merged into bins at this scale` : lane.app;
      const track = element("div", "track");
      if (!lane.bars.length) track.append(element("span", "empty", "no time frames"));
      for (const [start, end, index] of lane.bars) {
        const label = lane.labels[index];
        const bar = element("div", "bar");
        Object.assign(bar.dataset, { start, end, label, view: lane.view });
        bar.style.left = `${(100 * start) / total}%`;
        bar.style.width = `${(100 * (end - start)) / total}%`;
        bar.style.background = colour(label);
        bar.setAttribute("aria-label", `${label}: ${time(start)} – ${time(end)}`);
        track.append(bar);
      }
      track.append(element("div", "playhead"));
      row.append(name, track);
      box.append(row);
    }
    const legend = element("div", "legend");
    for (const [label, fill] of colours) {
      const key = element("span");
      const swatch = element("i");
      swatch.style.background = fill;
      key.append(swatch, label);
      legend.append(key);
    }
    box.append(legend);
    movePlayhead();
  }

  function movePlayhead() {
    if (!player) return;
    const at = `${(100 * player.currentTime) / length()}%`;
    for (const head of box.querySelectorAll(".playhead")) head.style.left = at;
  }

  function seek(seconds) {
    if (!player || !Number.isFinite(seconds)) return;
    player.currentTime = seconds;
    player.play().catch(() => {}); // a browser that refuses to play still seeks
  }

  box.addEventListener("click", (event) => {
    const bar = event.target.closest(".bar");
    if (bar) seek(Number(bar.dataset.start));
  });
  box.addEventListener("mouseover", (event) => {
    const bar = event.target.closest(".bar");
    if (!bar || !tip) return;
    tip.textContent = `${bar.dataset.label}: ${time(bar.dataset.start)} – ${time(bar.dataset.end)}`;
    tip.hidden = false;
  });
  box.addEventListener("mousemove", (event) => {
    if (tip && !tip.hidden) Object.assign(tip.style, { left: `${event.clientX + 12}px`, top: `${event.clientY + 12}px` });
  });
  box.addEventListener("mouseout", (event) => {
    if (tip && event.target.closest(".bar")) tip.hidden = true;
  });
  for (const button of document.querySelectorAll("button.seek")) {
    button.addEventListener("click", () => seek(Number(button.dataset.start)));
  }
  if (player) {
    player.addEventListener("loadedmetadata", draw);
    player.addEventListener("timeupdate", movePlayhead);
  }
  draw();
})();
