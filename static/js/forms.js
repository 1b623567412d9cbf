/* Form behaviour every page shares, without inline handlers (the pages' CSP refuses those):
   - <form data-confirm="Question?">: ask before sending;
   - <input data-autosubmit>: send the form as soon as the value changes. */
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  }, true);

  document.addEventListener("change", function (e) {
    var field = e.target;
    if (field && field.dataset && "autosubmit" in field.dataset && field.form) {
      field.form.submit();
    }
  });
})();
