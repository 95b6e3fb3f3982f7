// Upload page: drag and drop of several files, one XMLHttpRequest per file with its own progress bar.
// DICOM files start at once; PNG and JPEG files first ask for the patient details their header lacks.
// Each file keeps the "Patient faces" choice made when it was added, and sends it as the field "facing".
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var texts = JSON.parse(document.getElementById("upload-texts").textContent);
  var dropzone = document.getElementById("dropzone");
  var input = form.querySelector("input[type=file]");
  var list = document.getElementById("upload-list");
  var template = document.getElementById("upload-item-template");
  var csrfToken = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var statusUrl = form.dataset.statusUrl;
  var MAX_PARALLEL_UPLOADS = 2;
  var POLL_INTERVAL_MS = 3000;
  var queue = [];
  var active = 0;
  var watchedStudies = {};

  // The same signatures as screening.forms.sniff_file_kind; the server still decides by decoding.
  function sniffKind(file) {
    return file.slice(0, 132).arrayBuffer().then(function (buffer) {
      var bytes = new Uint8Array(buffer);
      if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) {
        return "dicom";
      }
      if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
        return "png";
      }
      if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
        return "jpeg";
      }
      return "other";
    });
  }

  function setState(item, badge, label) {
    var state = item.element.querySelector(".upload-item__state");
    state.className = "badge badge--" + badge + " upload-item__state";
    state.textContent = label;
  }

  function showOutcome(item, data) {
    var element = item.element;
    var outcome = element.querySelector(".upload-item__outcome");
    element.classList.add("upload-item--" + data.outcome);
    element.dataset.outcome = data.outcome;
    setState(item, data.badge, data.outcome_label);
    outcome.textContent = "";
    // The message is a span of its own, so that pollStatuses can replace it as screening proceeds.
    var message = document.createElement("span");
    message.className = "upload-item__message";
    message.textContent = data.message ? data.message + " " : "";
    outcome.appendChild(message);
    if (data.study_url) {
      var link = document.createElement("a");
      link.href = data.study_url;
      link.textContent = data.link_text;
      outcome.appendChild(link);
    }
    if (data.study_id && (data.status === "queued" || data.status === "running")) {
      watchedStudies[data.study_id] = item;
    }
  }

  // Returns "left", "right", or "" when the side is left to the file.
  function chosenFacing() {
    var checked = form.querySelector("input[name=facing]:checked");
    return checked ? checked.value : "";
  }

  function addFile(file) {
    var fragment = template.content.cloneNode(true);
    var element = fragment.querySelector(".upload-item");
    var item = { file: file, element: element, patient: null, facing: chosenFacing() };
    element.querySelector(".upload-item__name").textContent = file.name;
    if (item.facing === "left" || item.facing === "right") {
      var facingNote = element.querySelector(".upload-item__facing");
      facingNote.textContent = texts["facing_" + item.facing];
      facingNote.hidden = false;
    }
    setState(item, "queued", texts.checking);
    list.appendChild(fragment);

    if (file.size === 0) {
      showOutcome(item, { outcome: "rejected", badge: "failed", outcome_label: texts.rejected, message: texts.empty });
      return;
    }
    sniffKind(file).then(function (kind) {
      if (kind === "png" || kind === "jpeg") {
        askForPatient(item);
      } else {
        enqueue(item);
      }
    });
  }

  function askForPatient(item) {
    var panel = item.element.querySelector(".upload-item__patient");
    var button = panel.querySelector(".upload-item__start");
    var patientId = panel.querySelector("input[name=patient_id]");
    panel.hidden = false;
    setState(item, "not-assessable", texts.needs_details);
    button.addEventListener("click", function () {
      if (!patientId.value.trim()) {
        patientId.setCustomValidity(texts.patient_id_required);
        patientId.reportValidity();
        return;
      }
      patientId.setCustomValidity("");
      item.patient = {};
      panel.querySelectorAll("input, select").forEach(function (field) {
        item.patient[field.name] = field.value;
      });
      panel.hidden = true;
      enqueue(item);
    });
  }

  function enqueue(item) {
    setState(item, "queued", texts.waiting);
    queue.push(item);
    pump();
  }

  function pump() {
    while (active < MAX_PARALLEL_UPLOADS && queue.length) {
      send(queue.shift());
    }
  }

  function send(item) {
    active += 1;
    var data = new FormData();
    data.append("radiographs", item.file, item.file.name);
    data.append("facing", item.facing);
    if (item.patient) {
      Object.keys(item.patient).forEach(function (name) {
        data.append(name, item.patient[name]);
      });
    }
    var progress = item.element.querySelector("progress");
    progress.hidden = false;
    setState(item, "running", texts.uploading);

    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-CSRFToken", csrfToken);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        progress.value = Math.round((event.loaded / event.total) * 100);
      }
    });
    request.upload.addEventListener("load", function () {
      progress.value = 100;
      setState(item, "running", texts.checking_file);
    });
    request.addEventListener("load", function () {
      var body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch (error) {
        body = null;
      }
      if (body && body.outcome) {
        showOutcome(item, body);
      } else {
        showOutcome(item, { outcome: "rejected", badge: "failed", outcome_label: texts.rejected, message: texts.server_error });
      }
      finish();
    });
    request.addEventListener("error", function () {
      showOutcome(item, { outcome: "rejected", badge: "failed", outcome_label: texts.rejected, message: texts.network_error });
      finish();
    });
    request.send(data);
  }

  function finish() {
    active -= 1;
    pump();
  }

  function pollStatuses() {
    var ids = Object.keys(watchedStudies);
    if (!ids.length) {
      return;
    }
    var request = new XMLHttpRequest();
    request.open("GET", statusUrl + "?ids=" + ids.join(","));
    request.setRequestHeader("Accept", "application/json");
    request.addEventListener("load", function () {
      if (request.status !== 200) {
        return;
      }
      var studies = JSON.parse(request.responseText).studies || [];
      studies.forEach(function (study) {
        var item = watchedStudies[study.id];
        if (!item) {
          return;
        }
        setState(item, study.badge, study.status_label);
        var message = item.element.querySelector(".upload-item__message");
        if (message && study.progress_message) {
          message.textContent = study.progress_message + " ";
        }
        if (study.status === "done" || study.status === "failed") {
          delete watchedStudies[study.id];
        }
      });
    });
    request.send();
  }

  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, addFile);
    input.value = "";
  });
  dropzone.addEventListener("click", function (event) {
    if (event.target === dropzone || event.target.tagName === "P") {
      input.click();
    }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("is-dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.remove("is-dragover");
    });
  });
  dropzone.addEventListener("drop", function (event) {
    Array.prototype.forEach.call(event.dataTransfer.files, addFile);
  });
  form.addEventListener("submit", function (event) {
    // With JavaScript every file goes up on its own request as soon as it is added.
    event.preventDefault();
  });
  window.setInterval(pollStatuses, POLL_INTERVAL_MS);
})();
