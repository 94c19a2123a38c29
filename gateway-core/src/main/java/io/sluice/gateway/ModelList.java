package io.sluice.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.List;

/**
 * {@code GET /v1/models} on an {@code api: models} route: the model aliases, in OpenAI's list
 * format, answered by the gateway without asking any upstream.
 */
final class ModelList {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ModelList() {}

  /** @param created when the aliases were configured (epoch seconds): OpenAI's {@code created} */
  static FullHttpResponse response(List<String> aliases, long created) {
    ObjectNode list = JSON.createObjectNode().put("object", "list");
    ArrayNode data = list.putArray("data");
    for (String alias : aliases) {
      data.addObject().put("id", alias).put("object", "model").put("created", created).put("owned_by", "sluice");
    }
    byte[] body;
    try {
      body = JSON.writeValueAsBytes(list);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
        Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return r;
  }
}
