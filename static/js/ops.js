/*
 * The operations page (/ops/): polls /ops/figures.json every few seconds, draws SVG line charts of the last
 * minutes and keeps the tables current. No library; loaded as a file, since the Content-Security-Policy allows no
 * inline script or style (colours come from classes in strongbox.css, never from style attributes).
 *
 * The figures are running totals, so rates, mean times and the 95th percentile are worked out here from the
 * difference between two readings of the same server. Behind a balancer, successive polls may reach different
 * servers: each server's readings are paired only with its own.
 */
(function () {
  "use strict";

  var root = document.getElementById("ops");
  if (!root) return;
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = 8;
  var HEIGHT = 200;
  var MARGIN = { top: 22, right: 12, bottom: 26, left: 48 };
  var figuresUrl = root.dataset.figuresUrl;
  var pollMs = Number(root.dataset.pollSeconds) * 1000;
  var windowMs = Number(root.dataset.windowSeconds) * 1000;
  var status = document.getElementById("ops-status");
  var charts = {};
  var previous = {};  // server id -> its last reading: time, requests, CPU seconds by pid
  var timer = null;

  /* ---------- Small DOM helpers ---------- */

  function el(tag, attributes, children, namespace) {
    var node = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svg(tag, attributes, children) { return el(tag, attributes, children, SVG); }

  function row(cells) {
    return el("tr", {}, cells.map(function (cell) { return el("td", {}, [cell]); }));
  }

  function dash(value, format) {
    return value === null || value === undefined ? "–" : (format ? format(value) : String(value));
  }

  function bytes(size) {
    var units = ["B", "KB", "MB", "GB"];
    for (var i = 0; i < units.length; i++) {
      if (size < 1024 || i === units.length - 1) return i === 0 ? size + " B" : size.toFixed(1) + " " + units[i];
      size /= 1024;
    }
    return size + " B";
  }

  function clock(date) { return date.toLocaleTimeString([], { hour12: false }); }

  /* A figure for people: whole above 100, else three significant digits (0.75, 12.3, 0.00125). */
  function number(value) {
    return Math.abs(value) >= 100 ? String(Math.round(value)) : String(Number(value.toPrecision(3)));
  }

  /* ---------- Series and charts ---------- */

  function chart(name) {
    if (!charts[name]) {
      var figure = root.querySelector("[data-chart='" + name + "']");
      charts[name] = { figure: figure, unit: figure.dataset.unit, series: {}, colours: {},
                       empty: "Waiting for two readings…" };
    }
    return charts[name];
  }

  function addPoint(name, series, time, value) {
    if (value === null || value === undefined || !isFinite(value)) return;
    var state = chart(name);
    (state.series[series] = state.series[series] || []).push({ t: time, v: value });
    // A series keeps its colour for the page's life; within a chart, the first eight are all different.
    if (!(series in state.colours)) state.colours[series] = Object.keys(state.colours).length % COLOURS;
  }

  function prune(now) {
    Object.keys(charts).forEach(function (name) {
      var series = charts[name].series;
      Object.keys(series).forEach(function (key) {
        series[key] = series[key].filter(function (point) { return point.t >= now - windowMs; });
        if (!series[key].length) delete series[key];
      });
    });
  }

  /* Return 4 or 5 round tick values from 0 to at least `max`. */
  function ticks(max) {
    if (!(max > 0)) max = 1;
    var rough = max / 4;
    var power = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = [1, 2, 2.5, 5, 10].map(function (f) { return f * power; }).find(function (s) { return s >= rough; });
    var values = [];
    for (var v = 0; v < max + step * 0.999; v += step) values.push(Math.round(v / step) * step);
    return values;
  }

  function draw(state, now) {
    var plot = state.figure.querySelector(".ops-plot");
    var legend = state.figure.querySelector(".ops-legend");
    var names = Object.keys(state.series).sort();
    var width = Math.max(plot.clientWidth, 240);
    var inner = { w: width - MARGIN.left - MARGIN.right, h: HEIGHT - MARGIN.top - MARGIN.bottom };
    var max = 0, points = 0;
    names.forEach(function (name) {
      state.series[name].forEach(function (point) { max = Math.max(max, point.v); });
    });
    var yTicks = ticks(max);
    var top = yTicks[yTicks.length - 1];
    var x = function (t) { return MARGIN.left + inner.w * (t - (now - windowMs)) / windowMs; };
    var y = function (v) { return MARGIN.top + inner.h * (1 - v / top); };
    var image = svg("svg", { width: width, height: HEIGHT, viewBox: "0 0 " + width + " " + HEIGHT, role: "img",
                             "class": "ops-svg", "aria-label": state.figure.querySelector("figcaption").textContent });
    image.appendChild(svg("text", { x: 4, y: 12, "class": "ops-axis-title" }, [state.unit]));
    yTicks.forEach(function (value) {
      image.appendChild(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value),
                                      "class": value === 0 ? "ops-axis" : "ops-grid" }));
      image.appendChild(svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "class": "ops-tick ops-tick-y" },
                            [number(value)]));
    });
    var minutes = windowMs / 60000;
    for (var m = minutes; m >= 0; m--) {
      var at = x(now - m * 60000);
      image.appendChild(svg("line", { x1: at, x2: at, y1: MARGIN.top + inner.h, y2: MARGIN.top + inner.h + 4,
                                      "class": "ops-axis" }));
      image.appendChild(svg("text", { x: at, y: HEIGHT - 6, "class": "ops-tick ops-tick-x" },
                            [m === 0 ? "now" : "−" + m + " min"]));
    }
    names.forEach(function (name) {
      var series = state.series[name];
      var colour = "ops-s" + state.colours[name];
      var coordinates = series.map(function (p) { return x(p.t).toFixed(1) + "," + y(p.v).toFixed(1); });
      points += series.length;
      image.appendChild(svg("polyline", { points: coordinates.join(" "), "class": "ops-line " + colour,
                                          "data-series": name }));
      var last = series[series.length - 1];
      image.appendChild(svg("circle", { cx: x(last.t), cy: y(last.v), r: 2.5, "class": "ops-dot " + colour }));
    });
    image.setAttribute("data-points", String(points));
    if (!names.length) {
      image.appendChild(svg("text", { x: MARGIN.left + inner.w / 2, y: MARGIN.top + inner.h / 2,
                                      "class": "ops-empty" }, [state.empty]));
    }
    plot.replaceChildren(image);
    legend.replaceChildren.apply(legend, names.map(function (name) {
      var series = state.series[name];
      var latest = series[series.length - 1].v;
      return el("li", {}, [el("span", { "class": "ops-swatch ops-s" + state.colours[name], "aria-hidden": "true" }),
                           name + ": " + number(latest) + " " + state.unit]);
    }));
  }

  function drawAll() {
    var now = Date.now();
    Object.keys(charts).forEach(function (name) { draw(charts[name], now); });
  }

  /* ---------- Figures from two readings ---------- */

  /* The 95th percentile of the requests between two readings of the cumulative buckets, interpolated within its
     bucket as Prometheus' histogram_quantile does; in seconds. */
  function p95(buckets, before) {
    var earlier = {};
    before.forEach(function (bucket) { earlier[bucket[0]] = bucket[1]; });
    var counts = buckets.map(function (bucket) { return bucket[1] - (earlier[bucket[0]] || 0); });
    var total = counts[counts.length - 1];
    if (!(total > 0)) return null;
    var rank = 0.95 * total;
    for (var i = 0; i < buckets.length; i++) {
      if (counts[i] >= rank) {
        if (buckets[i][0] === "+Inf") return i > 0 ? buckets[i - 1][0] : null;
        var lower = i > 0 ? buckets[i - 1][0] : 0, below = i > 0 ? counts[i - 1] : 0;
        return lower + (buckets[i][0] - lower) * (rank - below) / (counts[i] - below || 1);
      }
    }
    return null;
  }

  function serverFigures(server, serverTime, now) {
    var last = previous[server.id];
    var cpu = {};
    server.processes.forEach(function (process) { cpu[process.pid] = process.cpu_seconds; });
    var shares = {};
    if (last && serverTime > last.time) {
      var seconds = serverTime - last.time;
      var requests = server.requests.count - last.requests.count;
      if (requests >= 0) {  // fewer: the server restarted, and its counters with it
        addPoint("rate", server.id, now, requests / seconds);
        if (requests > 0) {
          addPoint("latency", server.id + " mean", now,
                   1000 * (server.requests.sum_seconds - last.requests.sum_seconds) / requests);
          var percentile = p95(server.requests.buckets, last.requests.buckets);
          if (percentile !== null) addPoint("latency", server.id + " p95", now, 1000 * percentile);
        }
      }
      Object.keys(cpu).forEach(function (pid) {
        if (pid in last.cpu) shares[pid] = 100 * Math.max(0, cpu[pid] - last.cpu[pid]) / seconds;
      });
    }
    previous[server.id] = { time: serverTime, requests: server.requests, cpu: cpu };
    return shares;
  }

  /* ---------- Tables ---------- */

  function showServer(server, shares) {
    var requests = server.requests;
    document.querySelector("#ops-requests tbody").replaceChildren(row([
      server.id, String(requests.count),
      requests.count ? (1000 * requests.sum_seconds / requests.count).toFixed(1) + " ms" : "–"]));
    var rows = server.processes.map(function (process) {
      return row([String(process.pid), process.role, bytes(process.resident_bytes || 0),
                  (process.cpu_seconds || 0).toFixed(1) + " s",
                  dash(shares[process.pid], function (share) { return share.toFixed(0) + " %"; })]);
    });
    document.querySelector("#ops-processes tbody").replaceChildren.apply(
      document.querySelector("#ops-processes tbody"), rows);
  }

  function showBalancer(balancer) {
    var box = document.getElementById("ops-balancer");
    box.dataset.state = balancer.state;
    if (balancer.state === "not_configured") {
      box.replaceChildren(el("p", {}, ["No balancer is configured: STRONGBOX_BALANCER_STATS_URL is not set."]));
      return;
    }
    if (balancer.state === "unreachable") {
      box.replaceChildren(el("p", { "class": "error" }, [
        "The balancer's statistics at " + balancer.url + " are unreachable: " + balancer.error]));
      return;
    }
    var head = ["Server", "State", "Sessions", "Sessions/s", "Response time", "5xx", "Weight"].map(function (name) {
      return el("th", { scope: "col" }, [name]);
    });
    var rows = balancer.servers.map(function (server) {
      var state = el("span", { "class": "ops-state ops-state-" + server.state.toLowerCase() }, [server.status]);
      return row([server.backend + "/" + server.name, state, dash(server.sessions), dash(server.session_rate),
                  dash(server.response_ms, function (ms) { return ms + " ms"; }), dash(server.responses_5xx),
                  dash(server.weight)]);
    });
    if (!rows.length) rows = [el("tr", {}, [el("td", { colspan: "7" }, ["The balancer has no servers."])])];
    box.replaceChildren(el("table", { "class": "ops-table" }, [el("thead", {}, [el("tr", {}, head)]),
                                                              el("tbody", {}, rows)]));
  }

  function showReplicas(replicas) {
    var box = document.getElementById("ops-replicas");
    if (!replicas.length) {
      box.replaceChildren(el("p", {}, ["No replicas are configured: every read goes to the primary."]));
      return;
    }
    var head = ["Replica", "State", "Lag", "WAL behind"].map(function (name) {
      return el("th", { scope: "col" }, [name]);
    });
    var rows = replicas.map(function (replica) {
      var word = replica.up ? "up" : "down";
      return row([replica.alias, el("span", { "class": "ops-state ops-state-" + word }, [word]),
                  replica.lag_seconds.toFixed(1) + " s", dash(replica.lag_bytes, bytes)]);
    });
    box.replaceChildren(el("table", { "class": "ops-table" }, [el("thead", {}, [el("tr", {}, head)]),
                                                              el("tbody", {}, rows)]));
  }

  function showQueue(queue) {
    var box = document.getElementById("ops-queue");
    box.querySelector("[data-figure=depth]").textContent = String(queue.depth);
    box.querySelector("[data-figure=oldest]").textContent = queue.oldest_waiting_seconds.toFixed(0) + " s";
  }

  /* ---------- Polling ---------- */

  function update(figures) {
    var now = Date.now();
    var shares = serverFigures(figures.server, figures.time, now);
    var balancer = figures.balancer;
    if (balancer.state === "ok") {
      balancer.servers.forEach(function (server) {
        var name = server.name + " (balancer)";
        addPoint("rate", name, now, server.session_rate);
        // HAProxy's average over the server's last 1024 requests; 0 until it has answered any.
        if (server.response_ms) addPoint("latency", name, now, server.response_ms);
      });
    }
    figures.replicas.forEach(function (replica) {
      addPoint("lag", replica.alias, now, replica.up ? replica.lag_seconds : null);
    });
    chart("lag").empty = figures.replicas.length ? "No replica answers." : "No replicas are configured.";
    chart("latency").empty = "No requests yet.";
    addPoint("queue", "waiting", now, figures.queue.depth);
    prune(now);
    drawAll();
    showServer(figures.server, shares);
    showBalancer(balancer);
    showReplicas(figures.replicas);
    showQueue(figures.queue);
    status.classList.remove("error");
    status.textContent = "Updated " + clock(new Date()) + " from server " + figures.server.id + ", every " +
      pollMs / 1000 + " s; the charts show the last " + windowMs / 60000 + " minutes.";
  }

  function failed(error) {
    status.classList.add("error");
    status.textContent = "The figures could not be read at " + clock(new Date()) + " (" + error.message +
      "); trying again.";
  }

  function poll() {
    timer = null;
    if (document.hidden) return schedule();
    fetch(figuresUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(update, failed)
      .catch(function (error) {
        failed(error);
        setTimeout(function () { throw error; });  // a fault of this script: let the console show it
      })
      .then(schedule);
  }

  function schedule() {
    if (timer === null) timer = setTimeout(poll, pollMs);
  }

  ["rate", "latency", "lag", "queue"].forEach(chart);
  document.getElementById("ops-charts").hidden = false;
  drawAll();
  var resizing = false;
  window.addEventListener("resize", function () {
    if (resizing) return;
    resizing = true;
    requestAnimationFrame(function () { resizing = false; drawAll(); });
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer !== null) { clearTimeout(timer); timer = null; poll(); }
  });
  poll();
}());
