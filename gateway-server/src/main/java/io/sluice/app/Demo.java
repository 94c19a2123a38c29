package io.sluice.app;

import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.demo.MockModelServer;
import io.sluice.plugin.PluginRegistry;
import java.nio.file.Path;

/**
 * {@code --demo}: the embedded mock model server behind a gateway configured by the same YAML
 * a user would write, then the URLs and a {@code curl -N} line that shows tokens arriving.
 */
final class Demo {
  static final int GATEWAY_PORT = 8080;
  static final int ADMIN_PORT = 9901;

  private Demo() {}

  /** The demo config, pointing at the mock's port. */
  static String config(int mockPort, int gatewayPort, int adminPort) {
    return """
        listeners:
          - name: public
            host: 127.0.0.1
            port: %d
        admin:
          host: 127.0.0.1
          port: %d
        upstreams:
          - name: mock
            endpoints: [ { url: "http://127.0.0.1:%d" } ]
            health-check: { path: /health, interval: 5s }
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: mock
            sse: { resume: { enabled: true }, long-poll: { enabled: true } }
          - name: models
            match: { path: /v1/models, methods: [GET] }
            upstream: mock
          - name: realtime
            match: { path: /v1/realtime }
            upstream: mock
            websocket: { enabled: true, max-frame-size: 1MiB, ping-interval: 30s }
        """.formatted(gatewayPort, adminPort, mockPort);
  }

  static int run() throws Exception {
    MockModelServer mock = MockModelServer.start("127.0.0.1", 0, MockModelServer.Options.DEFAULTS);
    GatewayConfig config;
    try {
      config = new ConfigLoader(name -> null, PluginRegistry.load())
          .parse(config(mock.port(), GATEWAY_PORT, ADMIN_PORT), Path.of("."));
    } catch (Exception e) {
      mock.close();
      throw e;
    }
    String url = "http://127.0.0.1:" + GATEWAY_PORT;
    System.out.printf("""

        Sluice demo
          gateway        %s   (routes: POST /v1/chat/completions, GET /v1/models,
                                                  WebSocket /v1/realtime: an echo with usage)
          mock model     http://127.0.0.1:%d
          metrics        http://127.0.0.1:%d/metrics
          upstreams      http://127.0.0.1:%d/admin/upstreams

        Watch tokens stream through the gateway:

          curl -N %s/v1/chat/completions -H 'Content-Type: application/json' \\
            -d '{"model":"sluice-mock-1","stream":true,"messages":[{"role":"user","content":"Hello"}]}'

        Every event carries an id (<stream>.<n>): stop curl mid-stream and resume, without a second
        generation, by sending the same request with -H 'Last-Event-ID: <stream>.<n>'.
        Or poll instead of streaming: add -H 'X-Sluice-Transport: long-poll', then GET the poll_url.

        Ctrl-C stops the demo.

        """, url, mock.port(), ADMIN_PORT, ADMIN_PORT, url);
    try {
      return Main.serve(config, null, null);
    } finally {
      mock.close();
    }
  }
}
