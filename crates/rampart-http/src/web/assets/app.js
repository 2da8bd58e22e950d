// Rampart's web UI script: optional. Every page works without it; with it, lists and the
// incident timeline update live (server-sent events tell the page something changed; the
// page fetches itself again and swaps in the marked region) and keyboard shortcuts work.
"use strict";

(function () {
  // Live regions: an element with data-live="<events URL>" is refreshed from the page's
  // own address whenever the stream says it changed.
  function live(region) {
    var status = document.querySelector("[data-live-status]");
    var source = new EventSource(region.getAttribute("data-live"));
    var busy = false;
    var again = false;
    var waiting = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      again = false;
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.text();
        })
        .then(function (text) {
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById(region.id);
          if (!fresh) { return; }
          // Never replace a region while someone is in one of its fields: the update
          // waits until they leave it.
          if (region.contains(document.activeElement) &&
              /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
            if (!waiting) {
              waiting = true;
              region.addEventListener("focusout", function later() {
                region.removeEventListener("focusout", later);
                waiting = false;
                refresh();
              });
            }
            return;
          }
          region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.childNodes));
          if (status) { status.textContent = "Updated " + new Date().toLocaleTimeString(); }
        })
        .catch(function () {
          if (status) { status.textContent = "Live updates paused; reload the page."; }
        })
        .finally(function () {
          busy = false;
          // A change that arrived while this fetch was under way gets its own.
          if (again) { refresh(); }
        });
    }
    source.addEventListener("changed", refresh);
    source.addEventListener("error", function () {
      if (status && source.readyState === EventSource.CLOSED) {
        status.textContent = "Live updates stopped; reload the page.";
      }
    });
  }

  // Keyboard shortcuts (not while typing): "g h" home, "g i" this project's incidents,
  // "/" the first filter.
  function shortcuts() {
    var pending = null;
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.ctrlKey || event.metaKey || event.altKey ||
          (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)))) {
        return;
      }
      if (pending === "g") {
        pending = null;
        if (event.key === "h") { window.location.href = "/"; }
        if (event.key === "i") {
          var link = document.querySelector("header.top nav a[href$='/incidents']");
          if (link) { window.location.href = link.getAttribute("href"); }
        }
        return;
      }
      if (event.key === "g") { pending = "g"; return; }
      if (event.key === "/") {
        var filter = document.querySelector("form.filters select, form.filters input");
        if (filter) { event.preventDefault(); filter.focus(); }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), live);
    shortcuts();
  });
})();
