// era-recon sign-in: `era-recon serve --demo` prints a link ending in #key=<api key>.
// The part after # never leaves the browser (it is not sent to the server or logged);
// this fills the key field from it and removes it from the address bar and history.
(function () {
  "use strict";
  var match = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
  if (!match) { return; }
  var field = document.getElementById("key");
  if (field) { field.value = decodeURIComponent(match[1]); }
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
}());
