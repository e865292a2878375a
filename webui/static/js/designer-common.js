// Shared by the BPMN, DMN and form editors: JSON POSTs with the CSRF token, the status line and the
// problem list (each problem names its file, line and element; a click selects the element).
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var statusLine = document.getElementById("status");
  var problemList = document.getElementById("problems");

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf ? csrf.content : "" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) { throw new Error(json.message || String(response.status)); }
        return json;
      });
    });
  }

  function say(key, extra) {
    statusLine.textContent = (statusLine.getAttribute("data-" + key) || "") + (extra || "");
    statusLine.setAttribute("data-state", key);
  }

  function showProblems(problems, onSelect) {
    problemList.innerHTML = "";
    problems.forEach(function (p) {
      var item = document.createElement("li");
      item.className = "list-group-item list-group-item-warning small zf-problem";
      item.setAttribute("data-element-id", p.element || "");
      item.setAttribute("data-file", p.file || "");
      item.tabIndex = 0;
      item.textContent = (p.file || "") + (p.line ? ":" + p.line : "") + (p.element ? " [" + p.element + "]" : "") + " " + p.message;
      if (p.element && onSelect) {
        item.setAttribute("role", "button");
        item.addEventListener("click", function () { onSelect(p.element); });
        item.addEventListener("keydown", function (e) { if (e.key === "Enter") { onSelect(p.element); } });
      }
      problemList.appendChild(item);
    });
  }

  function wire(getContent, onSelect) {
    var host = document.getElementById("canvas");
    var path = document.getElementById("source").getAttribute("data-path");
    document.getElementById("validate").addEventListener("click", function () {
      getContent().then(function (content) {
        return post(host.getAttribute("data-validate"), { path: path, content: content });
      }).then(function (result) {
        var own = result.problems;
        showProblems(own, onSelect);
        if (result.valid) { say("valid"); } else { say("invalid", String(own.length)); }
      }).catch(function (err) { say("failed", err.message); });
    });
    document.getElementById("save-draft").addEventListener("click", function () {
      getContent().then(function (content) {
        return post(host.getAttribute("data-save"), { path: path, content: content });
      }).then(function () {
        say("saved");
        var origin = document.getElementById("origin");
        origin.className = "badge bg-warning text-dark";
      }).catch(function (err) { say("failed", err.message); });
    });
  }

  window.zhifaDesigner = { post: post, say: say, showProblems: showProblems, wire: wire,
                           source: function () { return document.getElementById("source").value; } };
})();
