"use strict";
if (new URLSearchParams(location.search).has("error")) {
  document.getElementById("error").hidden = false;
}
