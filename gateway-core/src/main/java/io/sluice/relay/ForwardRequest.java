package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.config.HeaderOps;
import io.sluice.config.SseConfig;
import io.sluice.exchange.Exchange;
import io.sluice.observe.GatewayMetrics;
import io.sluice.session.SessionPlan;
import io.sluice.translate.TranslatedRequest;
import io.sluice.translate.Translation;
import io.sluice.usage.UsageTracker;

/**
 * What a {@link ProxyCall} sends upstream and how it relays the answer, fixed for the whole
 * exchange (every retry sends the same request). A class, not a record: its headers are let go at
 * the commit ({@link #committed}).
 */
public final class ForwardRequest {
  private final HttpMethod method;
  private final String pathAndQuery;
  private HttpHeaders headers; // empty once committed
  private boolean lent; // the first attempt sends the headers themselves (toSend)
  private final ByteBuf body;
  private final boolean clientKeepAlive;
  private final HttpVersion clientVersion;
  private final HeaderOps responseHeaders;
  private final SseConfig sse;
  private final UsageTracker usage;
  private final SessionPlan sessions;
  private final StreamWatch watch;
  private final long gzipMinSize;
  private final Translation translation;
  private final TranslatedRequest translated;
  private final UsageHook settle;

  /**
   * @param pathAndQuery the path on the upstream (after the route's rewrite) with the query
   * @param headers the headers as forwarded (the endpoint's {@code Host} is set per attempt)
   * @param body the whole request body; each attempt sends a duplicate of it
   * @param clientKeepAlive whether the client connection may be reused after the response
   * @param clientVersion the client's HTTP version (an HTTP/1.0 client gets no chunked body)
   * @param responseHeaders the route's changes to the response headers
   * @param usage follows the answer's tokens, or null (passthrough routes)
   * @param sessions how the stream becomes a session (resume, long polling), or null
   * @param watch the route's plugins' stream hooks, or null
   * @param gzipMinSize -1 when the route or the client does not want gzip; else the answer is
   *     gzipped when not encoded already: always for streams (flushed per event), other bodies
   *     when their length is unknown or at least this
   * @param translation the answer is in another API than the client's and is translated, or null
   * @param translated the request as translated (what the client asked of the stream), or null
   * @param settle the route's plugins' usage hooks, run before the response's last bytes, or null
   */
  public ForwardRequest(
      HttpMethod method,
      String pathAndQuery,
      HttpHeaders headers,
      ByteBuf body,
      boolean clientKeepAlive,
      HttpVersion clientVersion,
      HeaderOps responseHeaders,
      SseConfig sse,
      UsageTracker usage,
      SessionPlan sessions,
      StreamWatch watch,
      long gzipMinSize,
      Translation translation,
      TranslatedRequest translated,
      UsageHook settle) {
    this.method = method;
    this.pathAndQuery = pathAndQuery;
    this.headers = headers;
    this.body = body;
    this.clientKeepAlive = clientKeepAlive;
    this.clientVersion = clientVersion;
    this.responseHeaders = responseHeaders;
    this.sse = sse;
    this.usage = usage;
    this.sessions = sessions;
    this.watch = watch;
    this.gzipMinSize = gzipMinSize;
    this.translation = translation;
    this.translated = translated;
    this.settle = settle;
  }

  /** A request relayed in the client's own API, without usage hooks. */
  public ForwardRequest(HttpMethod method, String pathAndQuery, HttpHeaders headers, ByteBuf body,
      boolean clientKeepAlive, HttpVersion clientVersion, HeaderOps responseHeaders, SseConfig sse,
      UsageTracker usage, SessionPlan sessions, StreamWatch watch, long gzipMinSize) {
    this(method, pathAndQuery, headers, body, clientKeepAlive, clientVersion, responseHeaders, sse, usage, sessions,
        watch, gzipMinSize, null, null, null);
  }

  /**
   * The relay of an answer with {@code head} to this request: counted in its usage, told to the
   * route's stream and usage hooks, and translated when the answer's API is not the client's.
   */
  BodyRelay relay(ChannelHandlerContext ctx, ResponseHead head, Exchange exchange, GatewayMetrics metrics,
      Runnable pauseUpstream) {
    BodyRelay relay = new BodyRelay(ctx, head, exchange, usage, watch, metrics, pauseUpstream, settle);
    if (translation != null) {
      relay.translate(translation, translated);
    }
    return relay;
  }

  /**
   * The answer was committed to the client: no attempt follows (each one sent a copy of these
   * headers), so the template is let go rather than kept for the whole life of a stream
   * (gateway-server/docs/memory.md); {@link #headers} is empty from then on.
   */
  void committed() {
    headers = EmptyHttpHeaders.INSTANCE;
  }

  /**
   * The headers for an attempt to send and complete (its endpoint's {@code Host}, its trace
   * context). The first attempt gets the template itself rather than a copy: most exchanges make
   * one attempt, and the copy was one more header set per request. A later attempt gets a copy of
   * the template as the first one left it, which is the same request: an attempt only ever
   * {@code set}s its headers ({@code Host}, {@code traceparent}, {@code tracestate} — the same
   * names on every attempt, each replaced and moved last again, so even their order is that of a
   * fresh copy), and the first attempt's request was encoded when it was written, on this loop,
   * before any retry.
   */
  HttpHeaders toSend() {
    if (!lent) {
      lent = true;
      return headers;
    }
    return headers.copy();
  }

  public HttpMethod method() {
    return method;
  }

  public String pathAndQuery() {
    return pathAndQuery;
  }

  public HttpHeaders headers() {
    return headers;
  }

  public ByteBuf body() {
    return body;
  }

  public boolean clientKeepAlive() {
    return clientKeepAlive;
  }

  public HttpVersion clientVersion() {
    return clientVersion;
  }

  public HeaderOps responseHeaders() {
    return responseHeaders;
  }

  public SseConfig sse() {
    return sse;
  }

  public UsageTracker usage() {
    return usage;
  }

  public SessionPlan sessions() {
    return sessions;
  }

  public StreamWatch watch() {
    return watch;
  }

  public long gzipMinSize() {
    return gzipMinSize;
  }

  public Translation translation() {
    return translation;
  }

  public TranslatedRequest translated() {
    return translated;
  }

  public UsageHook settle() {
    return settle;
  }
}
