// Evidence upload (issue 16): hash the file in slices (js-sha256, never the whole file in memory), declare it
// (POST /api/v1/cases/<id>/evidence/uploads), send it in chunks (PUT with Content-Range), complete it.
// A dropped connection is retried: the page asks the server how many bytes it holds (GET the upload) and goes
// on from there. The upload id is kept in localStorage under the file's name, size and date, so reloading the
// page and choosing the same file resumes it too. The new item is added to the list and ticked in every
// evidence field of the task form that accepts its kind.
(function () {
  "use strict";
  var HASH_SLICE = 4 * 1024 * 1024;
  var MAX_CHUNK = 8 * 1024 * 1024;
  var RETRIES = 8;

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key] !== undefined ? values[key] : ""; });
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  ready(function () {
    var form = document.getElementById("evidence-upload");
    if (!form) { return; }
    var fileInput = form.querySelector("#evidence-file");
    var kindSelect = form.querySelector("#evidence-kind");
    var progress = form.querySelector("#evidence-progress");
    var bar = progress.querySelector(".progress-bar");
    var status = form.querySelector("#evidence-status");
    var button = form.querySelector("#evidence-submit");
    var msg = function (name) { return form.getAttribute("data-msg-" + name) || ""; };

    function setAccept() {
      var option = kindSelect.options[kindSelect.selectedIndex];
      var accept = option ? option.getAttribute("data-accept") : "";
      if (accept) { fileInput.setAttribute("accept", accept); } else { fileInput.removeAttribute("accept"); }
    }
    kindSelect.addEventListener("change", setAccept);
    setAccept();

    function show(fraction, text, failed) {
      progress.classList.remove("d-none");
      var percent = Math.round(fraction * 100);
      bar.style.width = percent + "%";
      bar.textContent = percent + "%";
      progress.setAttribute("aria-valuenow", String(percent));
      bar.classList.toggle("bg-danger", !!failed);
      if (text !== null) { status.textContent = text; }
      status.classList.toggle("text-danger", !!failed);
    }

    function api(method, url, body, headers) {
      var init = { method: method, credentials: "same-origin", headers: Object.assign({
        "X-CSRFToken": form.getAttribute("data-csrf"), "Accept": "application/json" }, headers || {}) };
      if (body !== undefined) { init.body = body; }
      return fetch(url, init).then(function (response) {
        return response.text().then(function (text) {
          var data = {};
          try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
          if (!response.ok) {
            var error = new Error(data.message || response.statusText);
            error.status = response.status;
            error.data = data;
            throw error;
          }
          return data;
        });
      });
    }

    function hashFile(file) {
      var hasher = sha256.create();
      var offset = 0;
      function next() {
        if (offset >= file.size) { return Promise.resolve(hasher.hex()); }
        var end = Math.min(offset + HASH_SLICE, file.size);
        return file.slice(offset, end).arrayBuffer().then(function (buffer) {
          hasher.update(buffer);
          offset = end;
          show(offset / Math.max(file.size, 1), null);
          return next();
        });
      }
      return next();
    }

    function storageKey(file) {
      return "zf-evidence-upload:" + form.getAttribute("data-start-url") + ":" + file.name + ":" + file.size + ":" + file.lastModified;
    }

    function localTime(value) {
      // datetime-local is Beijing time as typed (formrender treats it the same way)
      return value ? value + (value.length === 16 ? ":00" : "") + "+08:00" : null;
    }

    function declare(file, sha) {
      var body = {
        kind: kindSelect.value, filename: file.name, size: file.size, sha256: sha,
        description: form.querySelector("#evidence-description").value,
        collected_place: form.querySelector("#evidence-collected-place").value
      };
      var at = localTime(form.querySelector("#evidence-collected-at").value);
      if (at) { body.collected_at = at; }
      var task = form.getAttribute("data-task-id");
      if (task) { body.task_id = task; }
      return api("POST", form.getAttribute("data-start-url"), JSON.stringify(body), { "Content-Type": "application/json" });
    }

    function resumeOrDeclare(file) {
      var key = storageKey(file);
      var known = null;
      try { known = window.localStorage.getItem(key); } catch (e) { known = null; }
      if (known) {
        return api("GET", form.getAttribute("data-chunk-url") + encodeURIComponent(known)).then(function (state) {
          show(state.offset / Math.max(file.size, 1), fmt(msg("resumed"), { n: state.offset }));
          return { upload_id: known, offset: state.offset, chunk_size: state.chunk_size };
        }, function () {
          try { window.localStorage.removeItem(key); } catch (e) { /* private mode */ }
          return resumeOrDeclare(file);
        });
      }
      show(0, msg("hashing"));
      return hashFile(file).then(function (sha) {
        show(0, msg("uploading"));
        return declare(file, sha);
      }).then(function (started) {
        try { window.localStorage.setItem(key, started.upload_id); } catch (e) { /* private mode */ }
        return started;
      });
    }

    function sendChunks(file, upload) {
      var url = form.getAttribute("data-chunk-url") + encodeURIComponent(upload.upload_id);
      var chunk = Math.min(upload.chunk_size || MAX_CHUNK, MAX_CHUNK);
      var offset = upload.offset || 0;
      var failures = 0;
      function next() {
        if (offset >= file.size) { return Promise.resolve(); }
        var end = Math.min(offset + chunk, file.size);
        return api("PUT", url, file.slice(offset, end), {
          "Content-Type": "application/octet-stream",
          "Content-Range": "bytes " + offset + "-" + (end - 1) + "/" + file.size
        }).then(function (state) {
          failures = 0;
          offset = state.offset;
          show(offset / file.size, msg("uploading"));
          return next();
        }, function (error) {
          // A dropped connection (no status) or a chunk the server did not expect (409): ask where it stands.
          if ((error.status && error.status !== 409 && error.status < 500) || ++failures > RETRIES) { throw error; }
          show(offset / file.size, msg("retry"));
          return sleep(Math.min(500 * failures, 4000)).then(function () { return api("GET", url); }).then(function (state) {
            offset = state.offset;
            show(offset / file.size, fmt(msg("resumed"), { n: offset }));
            return next();
          }, function (again) {
            if (again.status && again.status < 500) { throw again; }
            return next();
          });
        });
      }
      return next();
    }

    function addItem(item) {
      var list = document.getElementById("evidence-list");
      var empty = document.getElementById("evidence-empty");
      if (empty) { empty.remove(); }
      var template = document.getElementById("evidence-item-template");
      var li = template.content.firstElementChild.cloneNode(true);
      var url = form.getAttribute("data-item-url") + item.id;
      li.setAttribute("data-evidence-id", item.id);
      li.setAttribute("data-seq", item.seq);
      li.setAttribute("data-kind", item.kind);
      li.setAttribute("data-sha256", item.sha256);
      li.querySelector(".zf-evidence-link").href = url;
      li.querySelector(".zf-evidence-title").textContent = (item.kind_label || item.kind) + " " + item.seq;
      li.querySelector(".zf-evidence-kind").textContent = "· " + (item.filename || "");
      li.querySelector(".zf-evidence-description").textContent = item.description || "";
      li.querySelector(".zf-sha").textContent = item.sha256;
      var preview = li.querySelector(".zf-evidence-preview");
      var type = item.content_type || "";
      if (type.indexOf("image/") === 0 && type !== "image/svg+xml") {
        var img = document.createElement("img");
        img.className = "zf-thumb";
        img.alt = "";
        img.src = url + "/thumbnail";
        preview.appendChild(img);
      } else if (type.indexOf("video/") === 0 || type.indexOf("audio/") === 0) {
        var player = document.createElement(type.indexOf("video/") === 0 ? "video" : "audio");
        player.className = type.indexOf("video/") === 0 ? "zf-player" : "zf-audio";
        player.controls = true;
        player.preload = "metadata";
        player.src = url + "/content";
        preview.appendChild(player);
      }
      list.appendChild(li);
      var count = document.getElementById("evidence-count");
      if (count) { count.textContent = String(parseInt(count.textContent, 10) + 1); }
      document.querySelectorAll(".zf-evidence-pick").forEach(function (pick) {
        var kinds = (pick.getAttribute("data-kinds") || "").split(",").filter(Boolean);
        if (kinds.length && kinds.indexOf(item.kind) < 0) { return; }
        var none = pick.querySelector(".zf-evidence-none");
        if (none) { none.remove(); }
        var name = pick.getAttribute("data-field");
        var wrap = document.createElement("div");
        wrap.className = "form-check";
        var box = document.createElement("input");
        box.className = "form-check-input";
        box.type = "checkbox";
        box.name = name;
        box.value = String(item.id);
        box.id = "f-" + name + "-e" + item.id;
        box.checked = true;
        var label = document.createElement("label");
        label.className = "form-check-label";
        label.htmlFor = box.id;
        label.textContent = (item.kind_label || item.kind) + " " + item.seq + (item.description ? " · " + item.description : "");
        wrap.appendChild(box);
        wrap.appendChild(label);
        pick.querySelector(".zf-evidence-choices").appendChild(wrap);
      });
    }

    function uploadOne(file) {
      var key = storageKey(file);
      return resumeOrDeclare(file).then(function (upload) {
        return sendChunks(file, upload).then(function () {
          show(1, msg("checking"));
          return api("POST", form.getAttribute("data-chunk-url") + encodeURIComponent(upload.upload_id) + "/complete");
        });
      }).then(function (item) {
        try { window.localStorage.removeItem(key); } catch (e) { /* private mode */ }
        addItem(item);
        show(1, fmt(msg("done"), { seq: item.seq, sha: item.sha256 }));
        return item;
      }, function (error) {
        if (error.status === 404 || error.status === 422) {
          try { window.localStorage.removeItem(key); } catch (e) { /* private mode */ }
        }
        throw error;
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var files = Array.prototype.slice.call(fileInput.files || []);
      if (!files.length) { show(0, msg("nofile"), true); return; }
      button.disabled = true;
      files.reduce(function (chain, file) {
        return chain.then(function () { return uploadOne(file); });
      }, Promise.resolve()).then(function () {
        fileInput.value = "";
        form.setAttribute("data-uploaded", String(parseInt(form.getAttribute("data-uploaded") || "0", 10) + files.length));
      }, function (error) {
        show(0, msg("failed") + (error.message || String(error)), true);
      }).then(function () { button.disabled = false; });
    });
  });
})();
