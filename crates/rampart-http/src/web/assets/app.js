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
    source.addEventListener("changed", function () {
      if (busy) { return; }
      busy = true;
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.text();
        })
        .then(function (text) {
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById(region.id);
          // Never replace a region while someone is typing in it.
          if (fresh && !region.contains(document.activeElement)) {
            region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.childNodes));
            if (status) { status.textContent = "Updated " + new Date().toLocaleTimeString(); }
          }
        })
        .catch(function () {
          if (status) { status.textContent = "Live updates paused; reload the page."; }
        })
        .finally(function () { busy = false; });
    });
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
