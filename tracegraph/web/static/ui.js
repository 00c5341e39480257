// A little help where JavaScript runs; every page works without it.
"use strict";
(function () {
  // Open the step a link or the address names (#step-ID), and bring it into view.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var el = document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView({block: "start"}); }
  }
  window.addEventListener("hashchange", openTarget);
  document.addEventListener("DOMContentLoaded", function () {
    openTarget();
    // "Explain the cost": load it into the page instead of leaving it.
    var link = document.getElementById("explain-link");
    var box = document.getElementById("explain");
    if (link && box) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        box.textContent = "Working out the cost drivers…";
        fetch(link.dataset.fragment, {credentials: "same-origin"})
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
          .then(function (html) { box.innerHTML = html; box.querySelector("h2").setAttribute("tabindex", "-1"); box.querySelector("h2").focus(); })
          .catch(function () { location.href = link.href; });
      });
    }
    // Keyboard: j / k move between steps, Enter opens (the summary is a button already).
    var steps = Array.prototype.slice.call(document.querySelectorAll("details.step > summary"));
    document.addEventListener("keydown", function (event) {
      if (event.target.matches("input, select, textarea") || !steps.length) return;
      if (event.key !== "j" && event.key !== "k") return;
      var at = steps.indexOf(document.activeElement);
      var next = event.key === "j" ? Math.min(steps.length - 1, at + 1) : Math.max(0, at - 1);
      steps[next].focus();
    });
  });
})();
