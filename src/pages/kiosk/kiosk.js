// otpd's kiosk page: what a script adds to forms that work without it. An on-screen keypad
// for the number and the code, the countdown until a new code may be asked for, and the idle
// warning (with "more time") before the screen starts again for the next visitor. Time is read
// through Date.now() only, so a test can move it; no network use beyond the page's own forms.
(function () {
  "use strict";
  var main = document.getElementById("kiosk");
  if (!main) { return; }
  var TICK = 250;

  function fmt(n) {
    if (n < 60) { return n + " s"; }
    var m = Math.floor(n / 60), s = n % 60;
    return s === 0 ? m + " min" : m + " min " + s + " s";
  }

  // The keypad: digits (and + for numbers), delete; typing on a keyboard works as before.
  var field = document.querySelector("[data-keypad]");
  if (field) {
    var pad = document.createElement("div");
    pad.className = "keypad";
    pad.setAttribute("role", "group");
    pad.setAttribute("aria-label", main.getAttribute("data-keypad-label"));
    var keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9",
                field.getAttribute("data-keypad") === "tel" ? "+" : "", "0", "\u232b"];
    keys.forEach(function (k) {
      var b = document.createElement("button");
      b.type = "button";
      if (k === "") { b.hidden = true; b.disabled = true; }
      b.textContent = k;
      if (k === "\u232b") { b.setAttribute("aria-label", main.getAttribute("data-delete")); }
      b.addEventListener("click", function () {
        if (k === "\u232b") { field.value = field.value.slice(0, -1); } else { field.value += k; }
        field.focus();
      });
      pad.appendChild(b);
    });
    field.insertAdjacentElement("afterend", pad);
  }

  // The resend countdown: the button waits until the server's cooldown is over.
  var wait = document.getElementById("resend-wait");
  var resend = document.getElementById("resend");
  var resendAt = null;
  if (wait && resend) {
    resendAt = Date.now() + Number(wait.getAttribute("data-countdown")) * 1000;
    resend.disabled = true;
  }

  // Idle: a warning after data-idle seconds without a touch, then the start again.
  var idleMs = Number(main.getAttribute("data-idle")) * 1000;
  var warnMs = Number(main.getAttribute("data-warn")) * 1000;
  var autoReset = main.getAttribute("data-auto-reset");
  var overlay = document.getElementById("idle");
  var left = document.querySelector("[data-idle-left]");
  var restart = document.getElementById("restart");
  var last = Date.now();
  var warnedAt = null;
  var resetAt = autoReset === null ? null : Date.now() + Number(autoReset) * 1000;
  var leaving = false;

  function startAgain() {
    if (leaving || !restart) { return; }
    leaving = true;
    // What was typed goes with the page: clear it before the form leaves.
    Array.prototype.forEach.call(document.querySelectorAll("input[type=tel], input[type=text]"),
      function (i) { i.value = ""; });
    restart.submit();
  }

  function touched() {
    if (warnedAt !== null) { return; }
    last = Date.now();
  }
  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (e) {
    document.addEventListener(e, touched, { passive: true, capture: true });
  });
  var more = document.getElementById("more");
  if (more) {
    more.addEventListener("click", function () {
      warnedAt = null;
      last = Date.now();
      overlay.hidden = true;
      if (field) { field.focus(); }
    });
  }

  function tick() {
    var now = Date.now();
    if (resendAt !== null) {
      var n = Math.max(0, Math.ceil((resendAt - now) / 1000));
      var span = wait.querySelector("[data-left]");
      if (span) { span.textContent = fmt(n); }
      if (n === 0) { resend.disabled = false; wait.hidden = true; resendAt = null; }
    }
    if (resetAt !== null && now >= resetAt) { startAgain(); }
    if (warnedAt === null && now - last >= idleMs && overlay) {
      warnedAt = now;
      overlay.hidden = false;
      if (more) { more.focus(); }
    }
    if (warnedAt !== null) {
      var s = Math.max(0, Math.ceil((warnedAt + warnMs - now) / 1000));
      if (left) { left.textContent = String(s); }
      if (s === 0) { startAgain(); }
    }
  }
  setInterval(tick, TICK);
  tick();
})();
