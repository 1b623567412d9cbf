/* Time zones: when this computer's clock is in another zone than the one the portal shows
   times in, offer to switch (once per pair of zones; "Keep" remembers the answer). On My
   settings, a button picks this computer's zone in the list. */
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function remembered(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function remember(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }

  function fill(root, zone) {
    root.querySelectorAll("[data-browser-zone]").forEach(function (el) {
      el.textContent = zone;
    });
  }

  function offer(zone) {
    var box = document.getElementById("tz-offer");
    if (!box || !zone || zone === box.dataset.zone) return;
    // Another name for the same clock (Europe/Berlin for Europe/Amsterdam) is no news.
    if (-new Date().getTimezoneOffset() === Number(box.dataset.offset)) return;
    var key = "fieldsync.tz.kept." + box.dataset.zone + ">" + zone;
    if (remembered(key)) return;
    fill(box, zone);
    box.querySelector("input[name=timezone]").value = zone;
    document.getElementById("tz-offer-keep").addEventListener("click", function () {
      remember(key, "1");
      box.hidden = true;
    });
    box.hidden = false;
  }

  function settingsButton(zone) {
    var button = document.getElementById("use-browser-zone");
    var select = document.getElementById("timezone");
    if (!button || !select || !zone) return;
    fill(button.parentNode, zone);
    button.hidden = select.value === zone;
    button.addEventListener("click", function () {
      if (!Array.prototype.some.call(select.options, function (o) { return o.value === zone; })) {
        select.add(new Option(zone, zone));
      }
      select.value = zone;
      button.hidden = true;
    });
    select.addEventListener("change", function () { button.hidden = select.value === zone; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var zone = browserZone();
    offer(zone);
    settingsButton(zone);
  });
})();
