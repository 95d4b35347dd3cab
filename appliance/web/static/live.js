// Live dashboard: listen to /api/events and swap in the sections the server rendered.
// No framework and no external files: the box is offline.
(function () {
  "use strict";
  var root = document.querySelector("[data-stream]");
  var dot = document.querySelector("[data-testid=live-indicator]");
  if (!root || !window.EventSource) { return; }
  var source = new EventSource(root.getAttribute("data-stream"));
  source.addEventListener("open", function () { dot.setAttribute("data-live", "on"); });
  source.addEventListener("error", function () { dot.setAttribute("data-live", "off"); });
  source.addEventListener("snapshot", function (event) {
    var message = JSON.parse(event.data);
    Object.keys(message.html).forEach(function (name) {
      var section = root.querySelector('[data-section="' + name + '"]');
      // Leave a section alone while someone is using a form in it.
      if (section && !section.contains(document.activeElement)) {
        section.innerHTML = message.html[name];
      }
    });
    dot.setAttribute("data-live", "on");
    root.setAttribute("data-updated", String(message.status.time));
  });
})();
