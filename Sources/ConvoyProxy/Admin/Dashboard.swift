/// The admin listener's `GET /` page: listeners, clusters with endpoint health and load, request
/// rates and latencies, refreshed every two seconds from the admin's own JSON and Prometheus
/// endpoints. One self-contained page (no external script or style), so it works where the proxy
/// runs with no internet access. Any thread.
enum Dashboard {
    static let html = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>convoy</title>
    <style>
      body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
      h1 { font-size: 1.3em; margin: 0 0 .2em; }
      h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
      table { border-collapse: collapse; }
      th, td { text-align: left; padding: .2em .8em .2em 0; border-bottom: 1px solid #ddd; }
      td.num { text-align: right; font-variant-numeric: tabular-nums; }
      .healthy { color: #17702f; } .unhealthy { color: #b00020; font-weight: 600; }
      #status { color: #666; }
    </style>
    </head>
    <body>
    <h1>convoy</h1>
    <div id="status">loading…</div>
    <h2>Traffic</h2>
    <table><tbody id="traffic"></tbody></table>
    <h2>Listeners</h2>
    <ul id="listeners"></ul>
    <h2>Clusters</h2>
    <table>
      <thead><tr><th>cluster</th><th>endpoint</th><th>health</th><th class="num">weight</th><th class="num">active requests</th></tr></thead>
      <tbody id="clusters"></tbody>
    </table>
    <script>
    "use strict";
    let previous = null;

    function parseMetrics(text) {
      const series = [];
      for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/);
        if (!match) continue;
        const labels = {};
        for (const pair of (match[3] || "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
        series.push({ name: match[1], labels: labels, value: Number(match[4]) });
      }
      return series;
    }

    function total(series, name) {
      return series.filter(s => s.name === name).reduce((sum, s) => sum + s.value, 0);
    }

    function quantile(series, name, q) {
      const buckets = series.filter(s => s.name === name + "_bucket")
        .map(s => ({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), count: s.value }))
        .sort((a, b) => a.le - b.le);
      const count = buckets.length ? buckets[buckets.length - 1].count : 0;
      if (count === 0) return null;
      const bucket = buckets.find(b => b.count >= q * count);
      return bucket ? bucket.le : null;
    }

    function milliseconds(seconds) {
      if (seconds === null) return "–";
      return seconds === Infinity ? "> 1 h" : "≤ " + (seconds * 1000).toLocaleString() + " ms";
    }

    function cell(text, className) {
      const td = document.createElement("td");
      td.textContent = text;
      if (className) td.className = className;
      return td;
    }

    async function refresh() {
      try {
        const [info, metricsText, clusters] = await Promise.all([
          fetch("/server_info").then(r => r.json()),
          fetch("/stats/prometheus").then(r => r.text()),
          fetch("/clusters?format=json").then(r => r.json()),
        ]);
        const metrics = parseMetrics(metricsText);
        const now = Date.now();
        const requests = total(metrics, "convoy_downstream_requests_total");
        const rate = previous ? (requests - previous.requests) / ((now - previous.time) / 1000) : 0;
        previous = { requests: requests, time: now };
        document.getElementById("status").textContent =
          `version ${info.version} · ${info.state} · up ${info.uptime_seconds} s · ${info.concurrency} workers · updated ${new Date().toLocaleTimeString()}`;

        const traffic = document.getElementById("traffic");
        traffic.replaceChildren();
        const rows = [
          ["requests", requests.toLocaleString()],
          ["requests per second", rate.toFixed(1)],
          ["open downstream connections", total(metrics, "convoy_downstream_connections_active").toLocaleString()],
          ["5xx responses", metrics.filter(s => s.name === "convoy_downstream_responses_total" && s.labels.code_class === "5xx")
            .reduce((sum, s) => sum + s.value, 0).toLocaleString()],
          ["request duration p50", milliseconds(quantile(metrics, "convoy_request_duration_seconds", 0.5))],
          ["request duration p99", milliseconds(quantile(metrics, "convoy_request_duration_seconds", 0.99))],
          ["upstream response time p99", milliseconds(quantile(metrics, "convoy_upstream_response_time_seconds", 0.99))],
        ];
        for (const [name, value] of rows) {
          const tr = document.createElement("tr");
          tr.append(cell(name), cell(value, "num"));
          traffic.append(tr);
        }

        const listeners = document.getElementById("listeners");
        listeners.replaceChildren(...info.listeners.map(address => {
          const li = document.createElement("li");
          li.textContent = "http://" + address;
          return li;
        }));

        const body = document.getElementById("clusters");
        body.replaceChildren();
        for (const cluster of clusters.clusters) {
          for (const endpoint of cluster.endpoints) {
            const tr = document.createElement("tr");
            tr.className = "cluster";
            tr.append(cell(cluster.name), cell(endpoint.address),
              cell(endpoint.health, endpoint.health === "healthy" ? "healthy" : "unhealthy"),
              cell(String(endpoint.weight), "num"), cell(String(endpoint.active_requests), "num"));
            body.append(tr);
          }
        }
      } catch (error) {
        document.getElementById("status").textContent = "cannot reach the admin API: " + error;
      }
    }

    refresh();
    setInterval(refresh, 2000);
    </script>
    </body>
    </html>
    """#
}
