// The incident report form: "use my location", a first look at the chosen files, and a clear "sending"
// state. The server checks everything again; without this script the form still works.
(function () {
  "use strict";
  var form = document.getElementById("incident-form");
  if (!form) return;

  // --- location -------------------------------------------------------------------------------------
  var button = document.getElementById("use-location");
  var msg = document.getElementById("location-msg");
  var lat = document.getElementById("id_latitude");
  var lon = document.getElementById("id_longitude");
  var acc = document.getElementById("id_accuracy");

  function say(text, kind) {
    msg.textContent = text;
    msg.className = "ir-loc-msg" + (kind ? " " + kind : "");
  }

  if (button) {
    button.addEventListener("click", function () {
      // Browsers give the location only to secure pages (https, or localhost).
      if (!window.isSecureContext) { say(button.dataset.msgInsecure, "bad"); return; }
      if (!navigator.geolocation) { say(button.dataset.msgNone, "bad"); return; }
      say(button.dataset.msgWait, "");
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          button.disabled = false;
          lat.value = pos.coords.latitude.toFixed(6);
          lon.value = pos.coords.longitude.toFixed(6);
          acc.value = Math.round(pos.coords.accuracy || 0);
          say(button.dataset.msgOk.replace("%(m)s", acc.value), "ok");
        },
        function (err) {
          button.disabled = false;
          lat.value = lon.value = acc.value = "";
          say(err && err.code === 1 ? button.dataset.msgDenied : button.dataset.msgNone, "bad");
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
      );
    });
  }

  // --- files ----------------------------------------------------------------------------------------
  var input = document.getElementById("id_files");
  var list = document.getElementById("file-list");
  var VIDEO = /^video\/(mp4|webm|quicktime)$/;
  var PHOTO = /^image\//;

  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  if (input && list) {
    input.addEventListener("change", function () {
      list.innerHTML = "";
      var files = Array.prototype.slice.call(input.files || []);
      var max = parseInt(form.dataset.maxFiles || "5", 10);
      if (files.length > max) {
        var li = document.createElement("li");
        li.className = "bad";
        li.textContent = input.dataset.msgTooMany;
        list.appendChild(li);
      }
      files.forEach(function (file) {
        var li = document.createElement("li");
        var problem = "";
        var type = file.type || (/\.mov$/i.test(file.name) ? "video/quicktime" : "");
        if (VIDEO.test(type)) {
          if (file.size > parseInt(input.dataset.videoMax, 10)) problem = input.dataset.msgVideoBig;
        } else if (PHOTO.test(type)) {
          if (file.size > parseInt(input.dataset.photoMax, 10)) problem = input.dataset.msgPhotoBig;
        } else {
          problem = input.dataset.msgType;
        }
        li.textContent = (problem ? "✗ " : "✓ ") + file.name + " · " + size(file.size) + (problem ? " — " + problem : "");
        if (problem) li.className = "bad";
        list.appendChild(li);
      });
    });
  }

  // --- sending --------------------------------------------------------------------------------------
  var submit = document.getElementById("incident-submit");
  var label = submit ? submit.textContent : "";
  // Back from the next page (the browser's page cache): the button works again.
  window.addEventListener("pageshow", function () {
    if (submit) { submit.disabled = false; submit.textContent = label; }
  });
  form.addEventListener("submit", function () {
    if (!submit) return;
    // Disabled after the browser has taken the form's values; a second tap does not send it twice.
    window.setTimeout(function () {
      submit.disabled = true;
      submit.textContent = submit.dataset.msgSending;
    }, 0);
  });
})();
