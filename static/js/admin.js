/* Admin pages that follow live changes: the push log and the status page.
   Loaded with data-init naming the page: <script src="admin.js" data-init="pushLog">. */
(function () {
  "use strict";
  var live = window.Fieldsync && window.Fieldsync.live;
  var me = document.currentScript;
  if (!live || !me) return;

  var pages = {
    /* New pushes follow job changes: refresh the log and the counts when a job changes. */
    pushLog: function () {
      var again = live.debounce(function () {
        live.refresh("#push-log, #push-counts");
      }, 2500);
      live.on("job_changed", again);
    },
    /* Operational state changes on its own: refresh the numbers every 5 seconds. */
    statusPage: function () {
      setInterval(function () { live.refresh("#status-page"); }, 5000);
    },
  };
  var init = pages[me.dataset.init];
  if (init) init();
})();
