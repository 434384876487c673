"use strict";
const params = new URLSearchParams(location.search);
if (params.get("error") === "throttled") {
  const minutes = String(Math.max(1, parseInt(params.get("minutes"), 10) || 15));
  for (const span of document.querySelectorAll("#throttled .minutes")) span.textContent = minutes;
  document.getElementById("throttled").hidden = false;
} else if (params.has("error")) {
  document.getElementById("error").hidden = false;
}
