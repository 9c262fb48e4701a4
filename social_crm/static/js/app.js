// Social CRM: the few lines of JavaScript the pages need.
(function () {
  "use strict";

  // Copy buttons: <button data-copy-target="#id" data-copied-label="Copied">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = ("value" in source && source.value !== undefined ? source.value : source.textContent).trim();
    var done = function () {
      var original = button.textContent;
      button.textContent = button.getAttribute("data-copied-label") || original;
      setTimeout(function () { button.textContent = original; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(source, text) && done(); });
    } else if (fallback(source, text)) {
      done();
    }
  });

  // Live mentions. The poller ([data-live-mentions]) asks every 5 s for the rows newer than the
  // newest one shown (hx-get="…?after=<id>", swapped "afterbegin" into its hx-target). Every row
  // carries data-mention-id: the next request always starts from the newest row on the page, and
  // hx-get is kept in step after each swap.
  function liveList(poller) {
    return document.querySelector(poller.getAttribute("hx-target"));
  }

  function newestShown(poller) {
    var newest = 0;
    var list = liveList(poller);
    if (list) {
      list.querySelectorAll("[data-mention-id]").forEach(function (row) {
        newest = Math.max(newest, parseInt(row.getAttribute("data-mention-id"), 10) || 0);
      });
    }
    var url = new URL(poller.getAttribute("hx-get"), window.location.href);
    return Math.max(newest, parseInt(url.searchParams.get("after"), 10) || 0);
  }

  function withAfter(path, after) {
    var url = new URL(path, window.location.href);
    url.searchParams.set("after", String(after));
    return url.pathname + url.search;
  }

  function requester(event) {
    var detail = event.detail || {};
    var elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    return elt && elt.matches && elt.matches("[data-live-mentions]") ? elt : null;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var poller = requester(event);
    if (!poller) return;
    if (document.hidden) {  // no polling in a background tab; the next visible poll catches up
      event.preventDefault();
      return;
    }
    event.detail.path = withAfter(event.detail.path, newestShown(poller));
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var poller = requester(event);
    if (!poller) return;
    var xhr = event.detail.xhr;
    var body = event.detail.serverResponse || "";
    // A whole page (e.g. the login page after the session expired) is not rows: do not insert it.
    var moved = false;
    try { moved = xhr && xhr.responseURL && new URL(xhr.responseURL).pathname !== window.location.pathname; } catch (e) { moved = false; }
    if (moved || /<html[\s>]/i.test(body)) {
      event.detail.shouldSwap = false;
      poller.classList.add("live-paused");
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var poller = requester(event);
    if (!poller) return;
    var list = liveList(poller);
    if (!list) return;
    // Drop a row that is already on the page (two polls crossing), keeping the first copy.
    var seen = {};
    var fresh = 0;
    list.querySelectorAll("[data-mention-id]").forEach(function (row) {
      var id = row.getAttribute("data-mention-id");
      if (seen[id]) { row.remove(); return; }
      seen[id] = true;
      if (row.classList.contains("mention-new") && !row.hasAttribute("data-counted")) {
        row.setAttribute("data-counted", "");
        fresh += 1;
      }
    });
    poller.setAttribute("hx-get", withAfter(poller.getAttribute("hx-get"), newestShown(poller)));
    poller.classList.remove("live-paused");
    if (!fresh) return;
    var empty = document.querySelector("[data-mentions-empty]");
    if (empty) empty.hidden = true;
    var status = poller.querySelector("[data-live-status]");
    if (status) {
      var text = fresh === 1 ? status.getAttribute("data-one") : status.getAttribute("data-many");
      status.textContent = (text || "+{count}").replace("{count}", String(fresh));
      clearTimeout(status._clear);
      status._clear = setTimeout(function () { status.textContent = ""; }, 8000);
    }
  });

  // Query syntax errors (<pre class="query-error">): the last line is a caret under the faulty
  // character. On a narrow screen, scroll the box so the caret is in view.
  function showCarets() {
    document.querySelectorAll("pre.query-error").forEach(function (pre) {
      var lines = pre.textContent.split("\n");
      var column = lines[lines.length - 1].indexOf("^");
      if (column < 0 || pre.scrollWidth <= pre.clientWidth) return;
      var probe = document.createElement("span");
      probe.textContent = "0000000000";
      probe.style.visibility = "hidden";
      probe.style.whiteSpace = "pre";
      pre.appendChild(probe);
      var charWidth = probe.getBoundingClientRect().width / 10;
      pre.removeChild(probe);
      pre.scrollLeft = Math.max(0, column * charWidth - pre.clientWidth / 2);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showCarets);
  } else {
    showCarets();
  }

  function fallback(source, text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    if (!ok && window.getSelection) {
      // Leave the key selected so the person can copy it by hand.
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    return ok;
  }
})();
