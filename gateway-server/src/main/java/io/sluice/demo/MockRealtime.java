package io.sluice.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;

/**
 * The mock's tiny realtime endpoint ({@code GET /v1/realtime}, WebSocket): every text message is
 * answered with a {@code response.text.delta} echoing it and a {@code response.done} carrying
 * usage in the OpenAI Realtime shape (one token per word), so the demo shows a session and its
 * token accounting through the gateway; binary messages are echoed as they are.
 *
 * <p>Pipeline after the upgrade: Netty's WebSocket server codec → {@code MockRealtime}.
 */
final class MockRealtime extends SimpleChannelInboundHandler<WebSocketFrame> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final WebSocketServerHandshaker handshaker;
  private int responses;

  private MockRealtime(WebSocketServerHandshaker handshaker) {
    this.handshaker = handshaker;
  }

  /** Answers the upgrade and takes the connection over; a bad upgrade gets 426 or 400. */
  static void upgrade(ChannelHandlerContext ctx, FullHttpRequest req) {
    WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory(
        "ws://" + req.headers().get("host") + "/v1/realtime", null, false, 1024 * 1024).newHandshaker(req);
    if (handshaker == null) {
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    ctx.pipeline().addLast(new MockRealtime(handshaker));
    handshaker.handshake(ctx.channel(), req);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    if (frame instanceof CloseWebSocketFrame close) {
      handshaker.close(ctx.channel(), close.retain());
    } else if (frame instanceof PingWebSocketFrame) {
      ctx.writeAndFlush(new PongWebSocketFrame(frame.content().retain()));
    } else if (frame instanceof BinaryWebSocketFrame) {
      ctx.writeAndFlush(frame.retain());
    } else if (frame instanceof TextWebSocketFrame text) {
      String said = text.text();
      int words = said.isBlank() ? 0 : said.trim().split("\\s+").length;
      String id = "resp_mock_" + (++responses);
      ObjectNode delta = JSON.createObjectNode().put("type", "response.text.delta").put("response_id", id)
          .put("delta", "You said: " + said);
      ObjectNode done = JSON.createObjectNode().put("type", "response.done");
      ObjectNode response = done.putObject("response").put("id", id).put("status", "completed");
      response.putObject("usage").put("total_tokens", words + words + 2).put("input_tokens", words)
          .put("output_tokens", words + 2);
      ctx.write(new TextWebSocketFrame(delta.toString()));
      ctx.writeAndFlush(new TextWebSocketFrame(done.toString()));
    }
  }
}
