// otpd's audit pages: sends the reader's time zone (so times are shown in it) and keeps the
// chain's status current while a check runs. Everything works without it: the zone is then
// chosen in the filter form, and the status is current at each page load.
(function () {
  "use strict";
  var url = new URL(window.location.href);
  if (!url.searchParams.get("tz") && window.Intl && Intl.DateTimeFormat) {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz) {
      url.searchParams.set("tz", tz);
      window.location.replace(url.toString());
      return;
    }
  }
  var region = document.getElementById("chain-status");
  var detail = document.getElementById("chain-detail");
  var bar = document.getElementById("chain-progress");
  if (!region || region.getAttribute("data-running") !== "1") {
    return;
  }
  var zone = url.searchParams.get("tz") || "";
  function poll() {
    fetch("/audit/chain?tz=" + encodeURIComponent(zone), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        region.textContent = s.status;
        if (detail) { detail.textContent = s.detail || ""; }
        if (bar) {
          if (s.running) { bar.max = s.head; bar.value = s.reached; } else { bar.hidden = true; }
        }
        if (s.running) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { /* the next page load shows the status */ });
  }
  window.setTimeout(poll, 500);
})();
