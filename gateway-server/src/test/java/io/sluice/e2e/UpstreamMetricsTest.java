package io.sluice.e2e;

import static io.sluice.e2e.UpstreamFixtures.OK_JSON;
import static io.sluice.e2e.UpstreamFixtures.PLAIN_BODY;
import static io.sluice.e2e.UpstreamFixtures.assertGatewayError;
import static io.sluice.e2e.UpstreamFixtures.read;
import static io.sluice.e2e.UpstreamFixtures.refusedPort;
import static io.sluice.e2e.UpstreamFixtures.upstreamRequests;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code sluice_upstream_requests_total} counts every attempt by upstream, endpoint and outcome. */
class UpstreamMetricsTest {
  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstreams("slow", "fine");

  @Test
  void countsUpstreamAttemptsByOutcome() throws Exception {
    String dead = "http://127.0.0.1:" + refusedPort();
    FakeUpstream slow = gateway.upstream("slow");
    FakeUpstream fine = gateway.upstream("fine");
    gateway.start("""
        upstreams:
          - name: dead
            endpoints: [ { url: "%s" } ]
            retries: 0
          - name: slow
            endpoints: [ { url: "${upstream.slow}" } ]
            first-byte-timeout: 300ms
          - name: fine
            endpoints: [ { url: "${upstream.fine}" } ]
        routes:
          - { name: dead, match: { path-prefix: /dead }, upstream: dead }
          - { name: slow, match: { path-prefix: /slow }, upstream: slow }
          - { name: fine, match: { path-prefix: /fine }, upstream: fine }
        """.formatted(dead));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/dead", PLAIN_BODY);
      assertGatewayError(read(client), 502, "upstream_failed");
    }
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/slow", PLAIN_BODY);
      slow.next(); // never answered
      assertGatewayError(read(client), 504, "upstream_timeout");
    }
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      for (int i = 0; i < 2; i++) {
        client.post("/fine", PLAIN_BODY);
        fine.next().respond(200, "application/json", OK_JSON);
        assertThat(read(client).status()).isEqualTo(200);
      }
    }

    String metrics = gateway.admin("/metrics").body();
    assertThat(upstreamRequests(metrics, "dead", dead, "connect_error")).contains(1.0);
    assertThat(upstreamRequests(metrics, "slow", slow.url(), "timeout")).contains(1.0);
    assertThat(upstreamRequests(metrics, "fine", fine.url(), "success")).contains(2.0);
    assertThat(upstreamRequests(metrics, "fine", fine.url(), "connect_error")).isEmpty();
  }
}
