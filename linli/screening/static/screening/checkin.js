/* The check-in page's scanner: the phone's camera reads people's QR codes and tubes' barcodes and submits
   them through the page's scan form (htmx), so a camera scan, a scanner gun and typing all take one path.
   BarcodeDetector where the browser has it (it also reads 1-D tube barcodes); jsQR otherwise, served from
   this site so it works without the internet. */
(function () {
  "use strict";

  var root = document.getElementById("checkin");
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan-code");
  if (!root || !form || !input) return;

  var box = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var hint = document.getElementById("camera-hint");
  var startButton = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var note = document.getElementById("camera-note");
  var text = function (name) { return root.getAttribute("data-text-" + name) || ""; };

  var REPEAT_MS = 3000; // the same code again within this time is the same person still in front of the camera
  var FRAME_MS = 180; // a scan attempt every so often is enough and spares the battery
  var STORE = "linli.checkin.camera";
  var FORMATS = ["qr_code", "code_128", "code_39", "code_93", "codabar", "ean_13", "ean_8", "itf", "upc_a", "data_matrix"];

  var stream = null;
  var detector = null;
  var canvas = null;
  var timer = null;
  var lastCode = "";
  var lastAt = 0;
  var busy = false;
  var typed = false; // the last submit came from the keyboard or a scanner gun: keep the box focused
  var audio = null;

  // --- submitting ---------------------------------------------------------------------------------

  function submit(code) {
    code = (code || "").trim();
    if (!code) return;
    var now = Date.now();
    if (code === lastCode && now - lastAt < REPEAT_MS) {
      // Still in front of the camera: wait until the code has been out of view for a while.
      lastAt = now;
      return;
    }
    if (busy) return;
    lastCode = code;
    lastAt = now;
    typed = false;
    input.value = code;
    if (form.requestSubmit) form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
  }

  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter") typed = true;
  });
  form.addEventListener("submit", function () {
    // A typed code counts for the repeat guard too, so a scanner gun's double read is dropped.
    lastCode = input.value.trim();
    lastAt = Date.now();
  });

  document.body.addEventListener("htmx:beforeRequest", function () { busy = true; });
  document.body.addEventListener("htmx:afterRequest", function () { busy = false; });

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (!e.detail || !e.detail.target || e.detail.target.id !== "live") return;
    input.value = "";
    if (typed) input.focus();
    typed = false;
    var verdict = document.getElementById("verdict");
    if (verdict) {
      var ok = verdict.getAttribute("data-ok") === "1";
      signal(ok);
      var rect = verdict.getBoundingClientRect();
      if (!ok && (rect.top < 0 || rect.bottom > window.innerHeight)) {
        verdict.scrollIntoView({ block: "start", behavior: "smooth" });
      }
    }
    updateHint();
  });

  // Outdoors the network drops: say so in the verdict's place, never leave the last green answer standing.
  function failed(message) {
    busy = false;
    var live = document.getElementById("live");
    if (!live) return;
    var old = document.getElementById("verdict");
    if (old) old.remove();
    var box = document.createElement("div");
    box.className = "verdict no";
    box.id = "verdict";
    box.setAttribute("data-ok", "0");
    box.setAttribute("role", "status");
    var word = document.createElement("span");
    word.className = "verdict-word";
    word.textContent = text("error");
    var reason = document.createElement("span");
    reason.className = "verdict-reason";
    reason.textContent = message;
    box.appendChild(word);
    box.appendChild(reason);
    live.insertBefore(box, live.firstChild);
    signal(false);
    lastCode = ""; // let the same code be scanned again at once
  }
  document.body.addEventListener("htmx:sendError", function () { failed(text("offline")); });
  document.body.addEventListener("htmx:responseError", function () { failed(text("failed")); });

  // --- feedback -----------------------------------------------------------------------------------

  function signal(ok) {
    if (!ok && navigator.vibrate) navigator.vibrate([200, 80, 200]);
    beep(ok);
  }

  function beep(ok) {
    // Only once the camera button was tapped: browsers allow sound after a gesture.
    if (!audio || audio.state !== "running") return;
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.frequency.value = ok ? 1320 : 220;
    osc.type = ok ? "sine" : "square";
    gain.gain.value = 0.08;
    osc.connect(gain);
    gain.connect(audio.destination);
    var t = audio.currentTime;
    osc.start(t);
    osc.stop(t + (ok ? 0.12 : 0.45));
  }

  function updateHint() {
    if (!hint) return;
    var tube = document.getElementById("tube");
    var open = tube && tube.getAttribute("data-open") === "1";
    hint.textContent = open ? text("aim-person") : text("aim-tube");
  }

  // --- the camera ---------------------------------------------------------------------------------

  function say(message) {
    note.textContent = message;
    note.hidden = !message;
  }

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = root.getAttribute("data-jsqr");
      s.onload = function () { resolve(); };
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function makeDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    var get = window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats()
      : Promise.resolve(["qr_code"]);
    return get.then(function (supported) {
      var formats = FORMATS.filter(function (f) { return supported.indexOf(f) >= 0; });
      if (formats.indexOf("qr_code") < 0) return null;
      return new window.BarcodeDetector({ formats: formats });
    }).catch(function () { return null; });
  }

  function start() {
    if (stream) return Promise.resolve();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(text("insecure"));
      return Promise.resolve();
    }
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !audio) audio = new Context();
      if (audio && audio.state === "suspended") audio.resume();
    } catch (err) { audio = null; }
    return navigator.mediaDevices
      .getUserMedia({ video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        box.hidden = false;
        startButton.hidden = true;
        stopButton.hidden = false;
        say("");
        updateHint();
        try { localStorage.setItem(STORE, "on"); } catch (err) { /* private mode */ }
        return video.play();
      })
      .then(makeDetector)
      .then(function (d) {
        detector = d;
        if (detector) return null;
        say(text("qr-only"));
        return loadJsQR();
      })
      .then(function () { if (stream) tick(); })
      .catch(function () {
        stop(false);
        say(text("denied"));
      });
  }

  function stop(remember) {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    box.hidden = true;
    startButton.hidden = false;
    stopButton.hidden = true;
    if (remember) {
      try { localStorage.removeItem(STORE); } catch (err) { /* private mode */ }
    }
  }

  function tick() {
    timer = null;
    if (!stream) return;
    var next = function () { if (stream) timer = setTimeout(tick, FRAME_MS); };
    if (busy || video.readyState < 2 || document.hidden) return next();
    if (detector) {
      detector.detect(video).then(function (found) {
        if (found && found.length) submit(found[0].rawValue);
      }).catch(function () { /* a frame the detector could not take */ }).then(next);
      return;
    }
    if (window.jsQR) {
      // Decode a smaller copy of the frame: fast enough on an old phone, sharp enough for a printed QR.
      var scale = Math.min(1, 640 / (video.videoWidth || 640));
      var w = Math.round((video.videoWidth || 640) * scale);
      var h = Math.round((video.videoHeight || 480) * scale);
      if (!canvas) canvas = document.createElement("canvas");
      if (canvas.width !== w) canvas.width = w;
      if (canvas.height !== h) canvas.height = h;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(video, 0, 0, w, h);
      var result = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
      if (result && result.data) submit(result.data);
    }
    next();
  }

  startButton.addEventListener("click", function () { start(); });
  stopButton.addEventListener("click", function () { stop(true); });

  // The camera is let go while the phone is in a pocket, and comes back with the page.
  var wasOn = false;
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      wasOn = !!stream;
      stop(false);
    } else if (wasOn) {
      start();
    }
  });

  updateHint();
  // Back on the page with the camera on last time: start it again (no prompt once permission is given).
  var remembered = false;
  try { remembered = localStorage.getItem(STORE) === "on"; } catch (err) { /* private mode */ }
  if (remembered && navigator.permissions && navigator.permissions.query) {
    navigator.permissions.query({ name: "camera" }).then(function (p) {
      if (p.state === "granted") start();
    }).catch(function () { /* the browser cannot say: wait for the button */ });
  }
})();
