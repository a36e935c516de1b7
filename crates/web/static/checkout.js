// Counts down to the moment the held seats are released. The page works without it:
// the absolute time is already printed.
(function () {
  var expires = document.getElementById("expires");
  var out = document.getElementById("countdown");
  if (!expires || !out) return;
  var end = Date.parse(expires.getAttribute("datetime"));
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    out.textContent = " (" + m + ":" + (s < 10 ? "0" : "") + s + " left)";
    if (left > 0) setTimeout(tick, 1000);
    else out.textContent = " (time is up)";
  }
  tick();
})();
