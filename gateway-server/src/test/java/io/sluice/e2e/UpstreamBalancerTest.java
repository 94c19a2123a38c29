package io.sluice.e2e;

import static io.sluice.e2e.UpstreamFixtures.CHAT;
import static io.sluice.e2e.UpstreamFixtures.OK_JSON;
import static io.sluice.e2e.UpstreamFixtures.PLAIN_BODY;
import static io.sluice.e2e.UpstreamFixtures.STREAM_BODY;
import static io.sluice.e2e.UpstreamFixtures.nextArrival;
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
import org.junit.jupiter.api.Test;

/** Where the balancers send requests, counted at the endpoints themselves. */
class UpstreamBalancerTest {

  @Test
  void roundRobinSpreadsRequestsInProportionToWeights() throws Exception {
    WireMockServer heavy = new WireMockServer(WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1"));
    WireMockServer light = new WireMockServer(WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1"));
    heavy.start();
    light.start();
    try {
      for (WireMockServer w : new WireMockServer[] {heavy, light}) {
        w.stubFor(WireMock.post(CHAT).willReturn(WireMock.okJson(OK_JSON)));
      }
      try (TestGateway gateway = TestGateway.start("""
          upstreams:
            - name: models
              endpoints:
                - { url: "http://127.0.0.1:%d", weight: 2 }
                - { url: "http://127.0.0.1:%d", weight: 1 }
              balancer: round-robin
          routes:
            - name: chat
              match: { path-prefix: /v1/chat/completions, methods: [POST] }
              upstream: models
          """.formatted(heavy.port(), light.port()));
          RawHttp client = RawHttp.connect(gateway.port())) {
        for (int i = 0; i < 30; i++) {
          client.post(CHAT, PLAIN_BODY);
          Reply reply = read(client);
          assertThat(reply.status()).isEqualTo(200);
          assertThat(reply.body()).isEqualTo(OK_JSON);
        }
      }
      assertThat(heavy.findAll(WireMock.postRequestedFor(WireMock.urlEqualTo(CHAT)))).hasSize(20);
      assertThat(light.findAll(WireMock.postRequestedFor(WireMock.urlEqualTo(CHAT)))).hasSize(10);
    } finally {
      heavy.stop();
      light.stop();
    }
  }

  @Test
  void leastRequestsSendsNewRequestsToTheEndpointWithoutAnOpenStream() throws Exception {
    try (FakeUpstream a = FakeUpstream.start();
        FakeUpstream b = FakeUpstream.start();
        TestGateway gateway = TestGateway.start("""
            upstreams:
              - name: models
                endpoints: [ { url: "%s" }, { url: "%s" } ]
                balancer: least-requests
            routes:
              - name: chat
                match: { path-prefix: /v1/chat/completions, methods: [POST] }
                upstream: models
            """.formatted(a.url(), b.url()));
        RawHttp streaming = RawHttp.connect(gateway.port())) {
      FakeUpstream[] fakes = {a, b};
      streaming.post(CHAT, STREAM_BODY);
      Arrival held = nextArrival(a, b); // a tie: either may get it
      held.call().startSse().send("data: 1\n\n");
      assertThat(streaming.readHead().status()).isEqualTo(200);
      assertThat(streaming.readUntil("\n\n")).isEqualTo("data: 1\n\n");

      FakeUpstream idle = fakes[1 - held.index()];
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        for (int i = 0; i < 3; i++) {
          client.post(CHAT, PLAIN_BODY);
          idle.next().respond(200, "application/json", OK_JSON);
          assertThat(read(client).status()).isEqualTo(200);
        }
      }
      assertThat(fakes[held.index()].poll()).as("the busy endpoint got nothing new").isNull();

      held.call().send("data: [DONE]\n\n").end();
      assertThat(streaming.readToEnd()).isEqualTo("data: [DONE]\n\n");
      assertThat(streaming.endedCleanly()).isTrue();
    }
  }
}
