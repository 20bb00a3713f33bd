// The live progress bar of a run's evaluation: the page works without it
// (it shows the progress when it was made); with it, the bar, the count, the
// rate and the time left follow the job's server-sent events, and the page
// reloads once the job is done, to show the outcomes. ansinh's own script:
// nothing else runs on the pages.
"use strict";
(function () {
  const box = document.querySelector(".progress[data-job]");
  if (!box || !window.EventSource) return;
  const bar = box.querySelector("progress");
  const text = box.querySelector(".progress-text");
  const run = window.location.pathname.split("/")[2];
  const grouping = document.documentElement.lang === "vi" ? "vi-VN" : "en-GB";
  const number = new Intl.NumberFormat(grouping);
  const source = new EventSource("/runs/" + run + "/progress/" + box.dataset.job);
  const show = function (event) {
    const job = JSON.parse(event.data);
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    let line = number.format(job.done) + " / " + number.format(job.total);
    if (job.rate) line += " · " + number.format(Math.round(job.rate)) + " " + box.dataset.perSecond;
    if (job.seconds_left !== null && job.seconds_left !== undefined) {
      line += " · " + number.format(Math.ceil(job.seconds_left)) + " " + box.dataset.secondsLeft;
    }
    text.textContent = line;
  };
  source.addEventListener("progress", show);
  const end = function (event) {
    show(event);
    source.close();
    window.location.reload();
  };
  source.addEventListener("done", end);
  source.addEventListener("failed", end);
})();
