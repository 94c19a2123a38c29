package io.sluice.session;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.config.SseConfig;
import java.nio.charset.StandardCharsets;

/**
 * How a request's stream becomes a session, should the upstream answer with one.
 *
 * @param owner who may resume, poll or delete it: {@link #owner}
 * @param route the route it starts on
 * @param buffer the buffer and ttl settings ({@code sse.resume}, also for long-poll sessions)
 * @param longPoll the client asked for long polling: it gets 202 and leaves
 */
public record SessionPlan(StreamSessions store, String owner, String route, SseConfig.Resume buffer,
    boolean longPoll) {

  /** Response header naming the session of a stream (resume before the first event: {@code <id>.0}). */
  public static final String STREAM_ID_HEADER = "X-Sluice-Stream-Id";
  /** Request header asking for the long-polling transport. */
  public static final String TRANSPORT_HEADER = "X-Sluice-Transport";
  /** Where the sessions' own endpoints live. */
  public static final String PATH_PREFIX = "/sluice/streams/";

  /** The consumer that authenticated, else the client's address: only it may use the session. */
  public static String owner(String consumer, String clientIp) {
    return consumer != null ? "consumer:" + consumer : "ip:" + clientIp;
  }

  /** The poll URL of a session, from the start. */
  public static String pollUrl(String streamId) {
    return PATH_PREFIX + streamId + "/events?after=0";
  }

  /** {@code 202} with {@code {"stream_id": …, "poll_url": …}}: the answer to a long-poll start. */
  public static FullHttpResponse accepted(ByteBufAllocator alloc, StreamSession session, String requestId) {
    String json = "{\"stream_id\":\"" + session.id() + "\",\"poll_url\":\"" + pollUrl(session.id()) + "\"}";
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.ACCEPTED,
        Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8)));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    response.headers().set(STREAM_ID_HEADER, session.id());
    response.headers().set(HttpHeaderNames.LOCATION, pollUrl(session.id()));
    return response;
  }
}
