// Tapping the site plan. On the setup page: choose a building in the list, tap its spot, and the spot is
// saved (the next building not yet placed is chosen for you). On an incident's page: "put it on the plan",
// then tap. Positions are sent as fractions of the image (0..1 from the left and from the top).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function spotOf(event, plan) {
    var img = plan.querySelector("img");
    var box = img.getBoundingClientRect();
    var x = (event.clientX - box.left) / box.width;
    var y = (event.clientY - box.top) / box.height;
    if (x < 0 || x > 1 || y < 0 || y > 1) return null;
    return { x: Math.round(x * 10000) / 10000, y: Math.round(y * 10000) / 10000 };
  }

  function post(url, fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (k) { body.append(k, fields[k]); });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf() }
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || r.statusText);
        return data;
      });
    });
  }

  // --- setup: placing buildings -------------------------------------------------------------------------
  var setup = document.getElementById("siteplan-setup");
  if (setup) {
    var plan = setup.querySelector(".iplan");
    var pins = plan.querySelector("g.bpins");
    var msg = document.getElementById("place-msg");
    var counter = document.getElementById("placed-count");
    var radios = function () { return Array.prototype.slice.call(setup.querySelectorAll("input[name=building]")); };
    var chosen = function () { return radios().filter(function (r) { return r.checked; })[0]; };

    var highlight = function () {
      var current = chosen();
      Array.prototype.forEach.call(pins.querySelectorAll(".bpin"), function (g) {
        g.classList.toggle("selected", !!current && g.dataset.building === current.value);
      });
      var remove = document.getElementById("remove-building");
      if (remove) remove.disabled = !current || current.dataset.placed !== "1";
    };

    var drawPin = function (id, number, x, y) {
      var g = pins.querySelector('.bpin[data-building="' + id + '"]');
      if (x === null) { if (g) g.remove(); return; }
      if (!g) {
        g = document.createElementNS(SVG, "g");
        g.setAttribute("class", "bpin");
        g.dataset.building = id;
        var c = document.createElementNS(SVG, "circle");
        c.setAttribute("r", "5");
        var t = document.createElementNS(SVG, "text");
        t.setAttribute("dy", "-9");
        t.setAttribute("text-anchor", "middle");
        t.textContent = number;
        g.appendChild(c);
        g.appendChild(t);
        pins.appendChild(g);
      }
      var px = (x * 100).toFixed(3) + "%", py = (y * 100).toFixed(3) + "%";
      g.querySelector("circle").setAttribute("cx", px);
      g.querySelector("circle").setAttribute("cy", py);
      g.querySelector("text").setAttribute("x", px);
      g.querySelector("text").setAttribute("y", py);
    };

    var recount = function () {
      if (counter) counter.textContent = radios().filter(function (r) { return r.dataset.placed === "1"; }).length;
    };

    var mark = function (radio, placed) {
      radio.dataset.placed = placed ? "1" : "0";
      var state = radio.closest("label").querySelector(".bstate");
      if (state) state.textContent = placed ? state.dataset.placed : state.dataset.unplaced;
      radio.closest("label").classList.toggle("placed", placed);
    };

    var selectNext = function (after) {
      var all = radios();
      var start = all.indexOf(after);
      for (var i = 1; i <= all.length; i++) {
        var r = all[(start + i) % all.length];
        if (r.dataset.placed !== "1") { r.checked = true; r.closest("label").scrollIntoView({ block: "nearest" }); return r; }
      }
      return null;
    };

    setup.addEventListener("change", function (e) { if (e.target.name === "building") highlight(); });

    plan.addEventListener("click", function (event) {
      var current = chosen();
      if (!current) { msg.textContent = msg.dataset.choose; return; }
      var spot = spotOf(event, plan);
      if (!spot) return;
      post(plan.dataset.pickUrl, { building: current.value, x: spot.x, y: spot.y, community_code: setup.dataset.community })
        .then(function (data) {
          drawPin(current.value, current.dataset.number, data.x, data.y);
          mark(current, true);
          recount();
          var next = selectNext(current);
          msg.textContent = msg.dataset.saved.replace("%(building)s", current.dataset.label) +
            (next ? " " + msg.dataset.next.replace("%(building)s", next.dataset.label) : " " + msg.dataset.all);
          highlight();
        })
        .catch(function (err) { msg.textContent = err.message; });
    });

    var remove = document.getElementById("remove-building");
    if (remove) {
      remove.addEventListener("click", function () {
        var current = chosen();
        if (!current) return;
        post(plan.dataset.pickUrl, { building: current.value, remove: "1", community_code: setup.dataset.community })
          .then(function () {
            drawPin(current.value, current.dataset.number, null, null);
            mark(current, false);
            recount();
            msg.textContent = msg.dataset.removed.replace("%(building)s", current.dataset.label);
            highlight();
          })
          .catch(function (err) { msg.textContent = err.message; });
      });
    }
    highlight();
  }

  // --- an incident: putting it on the plan --------------------------------------------------------------
  var toggle = document.getElementById("locate-toggle");
  var incidentPlan = document.getElementById("incident-plan");
  if (toggle && incidentPlan && incidentPlan.dataset.pickUrl) {
    var picking = false;
    var note = document.getElementById("locate-msg");
    incidentPlan.classList.remove("picking");
    toggle.addEventListener("click", function () {
      picking = !picking;
      incidentPlan.classList.toggle("picking", picking);
      toggle.textContent = picking ? toggle.dataset.on : toggle.dataset.off;
      toggle.classList.toggle("primary", picking);
    });
    incidentPlan.addEventListener("click", function (event) {
      if (!picking) return;
      event.preventDefault();
      var spot = spotOf(event, incidentPlan);
      if (!spot) return;
      post(incidentPlan.dataset.pickUrl, spot)
        .then(function () { window.location.reload(); })
        .catch(function (err) { note.textContent = err.message; });
    });
  }
})();
