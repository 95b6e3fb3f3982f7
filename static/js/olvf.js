// Behaviour shared by every page. Plain JavaScript, no framework, nothing loaded from the network.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // The language switch submits as soon as a language is picked; without JavaScript a button does it.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
})();
