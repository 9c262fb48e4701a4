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
