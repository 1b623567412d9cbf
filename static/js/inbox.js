/* Inbox pages: refresh the list, a message, or a job's line when the inbox changes. */
(function () {
  "use strict";
  var live = window.Fieldsync && window.Fieldsync.live;
  if (!live) return;
  var checked = {};

  function remember() {
    document.querySelectorAll("#inbox-rows input[name=ids]").forEach(function (box) {
      checked[box.value] = box.checked;
    });
  }

  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.id === "select-all") {
      document.querySelectorAll("#inbox-rows input[name=ids]").forEach(function (box) {
        box.checked = ev.target.checked;
      });
    }
    remember();
  });

  /* Selections survive a live refresh of the rows. */
  document.addEventListener("fieldsync:refreshed", function () {
    document.querySelectorAll("#inbox-rows input[name=ids]").forEach(function (box) {
      if (checked[box.value]) box.checked = true;
    });
  });

  var list = document.getElementById("inbox-rows");
  var message = document.getElementById("message-live");
  var line = document.getElementById("line-live");
  var refreshList = live.debounce(function () {
    remember();
    live.refresh("#inbox-counts, #inbox-bar, #inbox-chart, #inbox-rows, #inbox-total");
  }, 400);
  var refreshMessage = live.debounce(function () { live.refresh("#message-live"); }, 200);
  var refreshLine = live.debounce(function () { live.refresh("#line-live"); }, 300);

  live.onConnect(function () {
    if (list) refreshList();
    if (message) refreshMessage();
    if (line) refreshLine();
  });
  live.on("inbox_message", function (data) {
    if (list) refreshList();
    if (message && data && String(data.job_id) === message.dataset.job) refreshMessage();
    if (line && data && String(data.job_id) === line.dataset.job) refreshLine();
  });
})();
