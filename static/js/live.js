// When the live panel answers "nothing changed" (204), htmx swaps nothing but
// fires the response's HX-Trigger event `live-polled` with the age of the
// server's last answer: keep the panel's "polled Ns ago" true.
document.addEventListener("live-polled", function (event) {
  var seconds = event.detail && event.detail.seconds;
  if (typeof seconds !== "number") return;
  var panel = event.target instanceof Element ? event.target.closest("#live-panel") : null;
  var polled = (panel || document).querySelector("[data-polled-ago]");
  if (polled) polled.textContent = "polled " + seconds + "s ago";
});
