/* Dispatcher pages: live refresh of the job list and a job's page, the day board's
   drag-to-assign. A page names what to start in the script tag:
   <script src="dispatch.js" data-init="liveJob" data-job-id="7"></script>. */
(function () {
  "use strict";
  var F = (window.Fieldsync = window.Fieldsync || {});

  function liveList() {
    var refresh = F.live.debounce(function () {
      F.live.refresh("#job-table, #status-counts");
    }, 600);
    F.live.on("job_changed", refresh);
    F.live.on("job_phone_changed", refresh);
    F.live.onConnect(refresh);
  }

  function liveJob(jobId) {
    F.live.watchJob(jobId);
    var refresh = F.live.debounce(function () {
      // The morph keeps what the dispatcher typed or opened in these (static/js/live.js).
      F.live.refresh("#job-head, #job-summary, #job-phone, #job-report, #job-files, " +
        "#job-history, #job-actions");
    }, 400);
    var mine = function (data) {
      if (data && Number(data.job_id) === Number(jobId)) refresh();
    };
    F.live.on("job_changed", mine);
    F.live.on("job_phone_changed", mine);
    F.live.onConnect(refresh);
  }

  /* Technicians' sync state: refresh when a phone syncs, signs in or out, or a job moves. */
  function liveTechnicians() {
    var refresh = F.live.debounce(function () { F.live.refresh("#technicians"); }, 600);
    F.live.on("device_changed", refresh);
    F.live.on("job_changed", refresh);
    F.live.onConnect(refresh);
  }

  function board() {
    var form = document.getElementById("board-assign");
    var dragged = null;
    document.addEventListener("dragstart", function (e) {
      var card = e.target.closest && e.target.closest(".bjob");
      if (!card) return;
      dragged = card;
      card.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.dataset.jobId);
    });
    document.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      document.querySelectorAll(".lane.drop-target").forEach(function (l) { l.classList.remove("drop-target"); });
    });
    document.addEventListener("dragover", function (e) {
      var lane = e.target.closest && e.target.closest(".lane[data-tech-id]");
      if (!lane || !dragged) return;
      e.preventDefault();
      document.querySelectorAll(".lane.drop-target").forEach(function (l) {
        if (l !== lane) l.classList.remove("drop-target");
      });
      lane.classList.add("drop-target");
    });
    document.addEventListener("drop", function (e) {
      var lane = e.target.closest && e.target.closest(".lane[data-tech-id]");
      if (!lane || !dragged) return;
      e.preventDefault();
      var from = dragged.closest(".lane");
      if (from === lane) return;
      var underWay = /\bs-(en_route|started|paused)\b/.test(dragged.className);
      if (lane.dataset.techId === "" && underWay) {
        // Taking a job from someone in the middle of it: ask first (the server insists too).
        var ask = (dragged.dataset.ref || "This job") + " is under way: unassign it?";
        if (!window.confirm(ask)) return;
        form.elements.confirm_unassign.value = "1";
      }
      form.action = form.dataset.url.replace("/0/assign", "/" + dragged.dataset.jobId + "/assign");
      form.elements.version.value = dragged.dataset.version;
      form.elements.assignee.value = lane.dataset.techId;
      form.submit();
    });
    var refreshBoard = F.live.debounce(function () {
      if (!dragged) F.live.refresh("#board, #board-unassigned");
    }, 800);
    F.live.on("job_changed", refreshBoard);
    F.live.onConnect(refreshBoard);
  }

  /* A form marked data-busy shows that the server is working once it is sent. */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || !form.dataset || !form.dataset.busy) return;
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      button.textContent = form.dataset.busy;
    }
  });

  F.dispatch = { liveList: liveList, liveJob: liveJob, liveTechnicians: liveTechnicians, board: board };

  var me = document.currentScript;
  var init = me && me.dataset.init;
  if (init === "liveList") liveList();
  else if (init === "board") board();
  else if (init === "liveTechnicians") liveTechnicians();
  else if (init === "liveJob") liveJob(Number(me.dataset.jobId));
})();
