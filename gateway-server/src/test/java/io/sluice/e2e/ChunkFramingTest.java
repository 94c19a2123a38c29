package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The HTTP/1.1 chunk framing of a relayed event stream, byte for byte over a real socket: the
 * relay frames the chunks of an event stream itself (past Netty's encoder), so the wire is checked
 * here without a client that would forgive a wrong size line — and the connection must still carry
 * the next request (the encoder's state ended with the last chunk).
 */
class ChunkFramingTest {
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams:
        - name: models
          endpoints: [ { url: "${upstream}" } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions, methods: [POST] }
          upstream: models
      """);

  @Test
  void eachEventIsOneChunkWithItsSizeLineAndTheBodyEndsWithTheLastChunk() throws Exception {
    String[] events = {"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(300) + "\"}}]}\n\n", ": keep-alive\n\n",
        "data: [DONE]\n\n"};
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", gateway.port()));
      socket.setSoTimeout(10_000);
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      for (int round = 0; round < 2; round++) { // the second request on the same connection
        post(out);
        FakeUpstream.Call call = gateway.upstream().next().startSse();
        assertThat(head(in)).startsWith("HTTP/1.1 200").containsIgnoringCase("transfer-encoding: chunked\r\n");
        for (String event : events) {
          call.send(event);
          // The upstream sends the next event only once this one's chunk has arrived whole.
          String chunk = Integer.toHexString(event.length()) + "\r\n" + event + "\r\n";
          assertThat(read(in, chunk.length())).isEqualTo(chunk);
        }
        call.end();
        assertThat(read(in, 5)).isEqualTo("0\r\n\r\n");
      }
    }
  }

  private static void post(OutputStream out) throws IOException {
    out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + CHAT.length() + "\r\n\r\n" + CHAT).getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** The response head, through its blank line. */
  private static String head(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      assertThat(b).as("the connection closed inside the head").isNotNegative();
      head.write(b);
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static String read(InputStream in, int length) throws IOException {
    return new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
  }
}
