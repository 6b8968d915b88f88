// codeact run report: expand or collapse every step, sub-run and turn. No network, no data.
(function () {
  "use strict";
  function setAll(open) {
    document.querySelectorAll("details").forEach(function (d) { d.open = open; });
  }
  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      setAll(button.getAttribute("data-action") === "expand");
    });
  });
  document.documentElement.classList.add("js");
})();
