// Report page: switch between the radiograph and the Grad-CAM overlays, toggle the level boxes,
// print, and reload once a queued or running study has finished.
(function () {
  "use strict";

  var image = document.getElementById("viewer-image");
  var boxes = document.getElementById("level-boxes");
  var POLL_INTERVAL_MS = 3000;

  var toggle = document.getElementById("toggle-boxes");
  var radios = document.querySelectorAll("#layer-switch input[name=layer]");

  // The overview image has the level boxes drawn into its pixels, so on that layer the boxes are
  // always visible: the checkbox shows ticked and is disabled there. On the Grad-CAM layers the vector
  // boxes are laid over the image, and the checkbox shows and sets the choice the user made last.
  var showBoxes = toggle ? toggle.checked : true;

  function updateBoxes(radio) {
    var isOverview = radio.value === "overview";
    if (toggle) {
      toggle.disabled = isOverview;
      toggle.checked = isOverview || showBoxes;
    }
    if (boxes) {
      // SVG elements have no "hidden" property, so the attribute is set directly.
      boxes.toggleAttribute("hidden", isOverview || !showBoxes);
    }
  }

  radios.forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked && image) {
        image.src = radio.dataset.src;
        updateBoxes(radio);
      }
    });
    if (radio.checked) {
      updateBoxes(radio);
    }
  });

  if (toggle) {
    toggle.addEventListener("change", function () {
      showBoxes = toggle.checked;
      if (boxes) {
        boxes.toggleAttribute("hidden", !showBoxes);
      }
    });
  }

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });

  var pending = document.getElementById("pending-banner");
  if (pending && window.XMLHttpRequest) {
    var timer = window.setInterval(function () {
      var request = new XMLHttpRequest();
      request.open("GET", pending.dataset.statusUrl);
      request.setRequestHeader("Accept", "application/json");
      request.addEventListener("load", function () {
        if (request.status !== 200) {
          return;
        }
        var studies = JSON.parse(request.responseText).studies || [];
        if (studies.length && (studies[0].status === "done" || studies[0].status === "failed")) {
          window.clearInterval(timer);
          window.location.reload();
        }
      });
      request.send();
    }, POLL_INTERVAL_MS);
  }
})();
