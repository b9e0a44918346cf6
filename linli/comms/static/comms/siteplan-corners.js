// "My location → corner": fill the plan's edges from the phone's GPS while standing at that corner.
(function () {
  "use strict";
  var msg = document.getElementById("corner-msg");
  Array.prototype.forEach.call(document.querySelectorAll("button[data-corner]"), function (button) {
    button.addEventListener("click", function () {
      if (!window.isSecureContext || !navigator.geolocation) { msg.textContent = button.dataset.insecure; return; }
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          var lat = pos.coords.latitude.toFixed(6), lon = pos.coords.longitude.toFixed(6);
          var nw = button.dataset.corner === "nw";
          document.getElementById(nw ? "id_north" : "id_south").value = lat;
          document.getElementById(nw ? "id_west" : "id_east").value = lon;
          msg.textContent = lat + ", " + lon + " (±" + Math.round(pos.coords.accuracy || 0) + " m)";
        },
        function (err) { msg.textContent = err.message; },
        { enableHighAccuracy: true, timeout: 20000 }
      );
    });
  });
})();
