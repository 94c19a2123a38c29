package io.sluice.e2e;

import static io.sluice.e2e.UpstreamFixtures.CHAT;
import static io.sluice.e2e.UpstreamFixtures.OK_JSON;
import static io.sluice.e2e.UpstreamFixtures.PLAIN_BODY;
import static io.sluice.e2e.UpstreamFixtures.assertGatewayError;
import static io.sluice.e2e.UpstreamFixtures.await;
import static io.sluice.e2e.UpstreamFixtures.healthy;
import static io.sluice.e2e.UpstreamFixtures.nextArrival;
import static io.sluice.e2e.UpstreamFixtures.post;
import static io.sluice.e2e.UpstreamFixtures.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import io.sluice.e2e.UpstreamFixtures.Arrival;
import io.sluice.e2e.UpstreamFixtures.Reply;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Passive and active endpoint health, as seen in {@code /admin/upstreams} and in where traffic goes. */
class UpstreamHealthTest {
  private static final Duration DEADLINE = Duration.ofSeconds(10);

  private static String passiveConfig(String... urls) {
    StringBuilder endpoints = new StringBuilder();
    for (String url : urls) {
      endpoints.append(endpoints.length() == 0 ? "" : ", ").append("{ url: \"").append(url).append("\" }");
    }
    return """
        upstreams:
          - name: models
            endpoints: [ %s ]
            balancer: round-robin
            health-check: { unhealthy-after: 2, interval: 1h }
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        """.formatted(endpoints);
  }

  @Test
  void ejectsAnEndpointThatAnswered503TwiceAndSendsItNoMoreTraffic() throws Exception {
    try (FakeUpstream sick = FakeUpstream.start();
        FakeUpstream well = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(passiveConfig(sick.url(), well.url()))) {
      int sickAnswers = 0;
      for (int i = 0; i < 10 && sickAnswers < 2; i++) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          Arrival arrival = nextArrival(sick, well);
          if (arrival.index() == 0) {
            assertThat(healthy(gateway, sick.url())).as("one failure is not enough").isTrue();
            arrival.call().respond(503, "application/json", "{\"error\":\"overloaded\"}");
            sickAnswers++;
            assertThat(read(client).status()).as("the upstream's 503 is relayed").isEqualTo(503);
          } else {
            arrival.call().respond(200, "application/json", OK_JSON);
            assertThat(read(client).status()).isEqualTo(200);
          }
        }
      }
      assertThat(sickAnswers).isEqualTo(2);
      assertThat(healthy(gateway, sick.url())).isFalse();
      assertThat(healthy(gateway, well.url())).isTrue();

      for (int i = 0; i < 4; i++) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          well.next().respond(200, "application/json", OK_JSON);
          assertThat(read(client).status()).isEqualTo(200);
        }
      }
      assertThat(sick.poll()).as("the ejected endpoint got no traffic").isNull();
    }
  }

  @Test
  void answers503NoHealthyUpstreamWhenEveryEndpointIsEjected() throws Exception {
    try (FakeUpstream sick = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(passiveConfig(sick.url()))) {
      for (int i = 0; i < 2; i++) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          sick.next().respond(503, "text/plain", "busy");
          Reply reply = read(client);
          assertThat(reply.status()).isEqualTo(503);
          assertThat(reply.body()).isEqualTo("busy");
        }
      }
      assertThat(healthy(gateway, sick.url())).isFalse();
      assertGatewayError(post(gateway), 503, "no_healthy_upstream");
      assertThat(sick.poll()).isNull();
    }
  }

  @Test
  void activeProbesEjectAnEndpointWhoseHealthFailsAndRestoreItWhenItRecovers() throws Exception {
    WireMockServer model = new WireMockServer(WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1"));
    model.start();
    try {
      model.stubFor(WireMock.get("/health").willReturn(WireMock.aResponse().withStatus(500)));
      model.stubFor(WireMock.post(CHAT).willReturn(WireMock.okJson(OK_JSON)));
      String url = "http://127.0.0.1:" + model.port();
      try (TestGateway gateway = TestGateway.start("""
          upstreams:
            - name: models
              endpoints: [ { url: "%s" } ]
              health-check: { path: /health, interval: 200ms, timeout: 200ms, unhealthy-after: 1, healthy-after: 1 }
          routes:
            - name: chat
              match: { path-prefix: /v1/chat/completions, methods: [POST] }
              upstream: models
          """.formatted(url))) {
        await("endpoint marked unhealthy", DEADLINE, () -> !healthy(gateway, url));
        // /health keeps failing, so nothing can restore it in between.
        assertGatewayError(post(gateway), 503, "no_healthy_upstream");
        assertThat(model.findAll(WireMock.postRequestedFor(WireMock.urlEqualTo(CHAT)))).isEmpty();

        model.stubFor(WireMock.get("/health").willReturn(WireMock.ok("ok")));
        await("endpoint healthy again", DEADLINE, () -> healthy(gateway, url));
      }
    } finally {
      model.stop();
    }
  }
}
