// The checkout's two scripts; the page works without either.

// Counts down to the moment the held seats are released (the absolute time is
// already printed). Screen readers are told once, when less than a minute is left,
// and when time is up, not every second.
(function () {
  var expires = document.getElementById("expires");
  var out = document.getElementById("countdown");
  var alert = document.getElementById("hold-alert");
  if (!expires || !out) return;
  var end = Date.parse(expires.getAttribute("datetime"));
  var warned = false;
  function say(text) {
    if (alert) alert.textContent = text;
  }
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    out.textContent = " (" + m + ":" + (s < 10 ? "0" : "") + s + " left)";
    if (left > 0 && left <= 60 && !warned) {
      warned = true;
      say("Less than a minute left to pay: your seats are released at " +
        (alert ? alert.getAttribute("data-until") : "") + ".");
    }
    if (left > 0) setTimeout(tick, 1000);
    else {
      out.textContent = " (time is up)";
      say("Time is up: your seats have been released.");
    }
  }
  tick();
})();

// "Pay" takes one click: it says it is paying and takes no more. (A second submission
// that gets through anyway carries the same request id, so it is the same payment.)
(function () {
  var form = document.querySelector("form.checkout");
  var pay = document.getElementById("pay");
  if (!form || !pay) return;
  var label = pay.textContent;
  form.addEventListener("submit", function () {
    pay.disabled = true;
    pay.textContent = "Paying\u2026";
  });
  // Back from the next page, the browser may show this one as it was left.
  window.addEventListener("pageshow", function () {
    pay.disabled = false;
    pay.textContent = label;
  });
})();
