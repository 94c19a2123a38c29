package io.sluice.relay;

import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.config.HeaderOps;
import io.sluice.http.HeadFacts;
import io.sluice.http.ProxyHeaders;
import java.util.List;
import java.util.Map;

/**
 * The client's response head, made from the upstream's: which headers pass, whether the body is
 * a stream of events, gzipped, chunked, and whether the client connection stays open after it.
 *
 * <p>The head itself is dropped once it is on the wire ({@link #sent}): the rest is what the relay
 * reads for the whole body, which for a stream can be hours.
 */
public final class ResponseHead {
  private HttpResponse head;
  private final boolean sse;
  private final boolean gzip;
  private final boolean chunked;
  private final boolean keepAlive;
  private final boolean json;

  /**
   * @param head the head to send the client (plugins' response hooks still run on its headers)
   * @param sse the body is {@code text/event-stream}: relayed event by event
   * @param gzip the gateway compresses the body
   * @param chunked the body goes to the client in HTTP/1.1 chunks (its length is unknown)
   * @param keepAlive the client connection is reused after the body
   * @param json a JSON body, worth keeping (capped) to read its usage at the end
   */
  ResponseHead(HttpResponse head, boolean sse, boolean gzip, boolean chunked, boolean keepAlive, boolean json) {
    this.head = head;
    this.sse = sse;
    this.gzip = gzip;
    this.chunked = chunked;
    this.keepAlive = keepAlive;
    this.json = json;
  }

  /** The head to send the client; null once it was sent. */
  public HttpResponse head() {
    return head;
  }

  public boolean sse() {
    return sse;
  }

  public boolean gzip() {
    return gzip;
  }

  public boolean chunked() {
    return chunked;
  }

  public boolean keepAlive() {
    return keepAlive;
  }

  public boolean json() {
    return json;
  }

  static ResponseHead of(HttpResponse upstream, ForwardRequest request, String requestId) {
    long gzipMinSize = request.gzipMinSize();
    int status = upstream.status().code();
    HttpHeaders upstreamHeaders = upstream.headers();
    boolean sse = contentTypeIs(upstreamHeaders.get(HttpHeaderNames.CONTENT_TYPE), "text/event-stream");
    long contentLength = HeadFacts.chunked(upstream) ? -1 : HttpUtil.getContentLength(upstream, -1L);

    HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, upstream.status());
    HttpHeaders h = out.headers();
    h.set(upstreamHeaders);
    passOn(h, request.responseHeaders(), requestId);
    if (sse) {
      h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
      h.set(ProxyHeaders.X_ACCEL_BUFFERING, "no");
    }
    boolean bodyless = request.method().equals(HttpMethod.HEAD) || status == 204 || status == 304;
    boolean gzip = gzipMinSize >= 0 && !bodyless && !h.contains(HttpHeaderNames.CONTENT_ENCODING)
        && (sse || contentLength < 0 || contentLength >= gzipMinSize);
    if (gzip) {
      h.set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
      h.add(HttpHeaderNames.VARY, HttpHeaderNames.ACCEPT_ENCODING);
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
      contentLength = -1;
    }
    boolean keepAlive = request.clientKeepAlive();
    boolean chunked = false;
    if (!bodyless && contentLength < 0) {
      if (request.clientVersion().equals(HttpVersion.HTTP_1_1)) {
        chunked = true;
        h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
      } else {
        keepAlive = false; // an HTTP/1.0 client reads the body until the connection closes
      }
    }
    HttpUtil.setKeepAlive(out, keepAlive);
    boolean json = !sse && status / 100 == 2
        && contentTypeIs(upstreamHeaders.get(HttpHeaderNames.CONTENT_TYPE), "application/json");
    return new ResponseHead(out, sse, gzip, chunked, keepAlive, json);
  }

  /**
   * The head is on the wire: the write encoded it on the loop (HTTP/1.1 encoder, or HTTP/2 frame
   * conversion), and nothing reads it after the commit, so it is dropped rather than kept for the
   * whole life of a stream (gateway-server/docs/memory.md).
   */
  void sent() {
    head = null;
  }

  /**
   * The upstream's head once the client's was made from it: Netty's decoder keeps it until its
   * body ends (and the chunked-body reader a reference too), so for a stream its headers would
   * stay for the stream's whole life although nothing reads them again (their strings are shared
   * with the client's head, which {@link #sent} empties). Only the framing headers are left, in
   * case the decoder reads them again (a connection closed before the body's end is judged by them).
   */
  static void dropCopied(HttpHeaders upstream) {
    List<String> encoding = upstream.getAll(HttpHeaderNames.TRANSFER_ENCODING);
    String length = upstream.get(HttpHeaderNames.CONTENT_LENGTH);
    upstream.clear();
    if (encoding.size() == 1 && HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(encoding.get(0))) {
      // the shared constant, not the decoder's string of it: one string fewer per held stream
      upstream.add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    } else if (!encoding.isEmpty()) {
      upstream.add(HttpHeaderNames.TRANSFER_ENCODING, encoding);
    }
    if (length != null) {
      upstream.add(HttpHeaderNames.CONTENT_LENGTH, length);
    }
  }

  /**
   * The upstream's headers as the client gets them: hop-by-hop headers dropped, the route's
   * {@code response-headers} applied, the exchange's request id set. (Also for WebSocket answers.)
   */
  public static void passOn(HttpHeaders h, HeaderOps routeOps, String requestId) {
    ProxyHeaders.removeHopByHop(h);
    for (String name : routeOps.remove()) { // a loop, not forEach(h::remove): no bound reference per response
      h.remove(name);
    }
    for (Map.Entry<String, String> e : routeOps.set().entrySet()) {
      h.set(e.getKey(), e.getValue());
    }
    h.set(ProxyHeaders.X_REQUEST_ID, requestId);
  }

  /** The media type before any parameter, blanks around it ignored; compared in place, no substrings per response. */
  static boolean contentTypeIs(String contentType, String expected) {
    if (contentType == null) {
      return false;
    }
    int semi = contentType.indexOf(';');
    int end = semi < 0 ? contentType.length() : semi;
    int start = 0;
    // the blanks String.trim drops: every char up to U+0020
    while (start < end && contentType.charAt(start) <= ' ') {
      start++;
    }
    while (end > start && contentType.charAt(end - 1) <= ' ') {
      end--;
    }
    return end - start == expected.length() && contentType.regionMatches(true, start, expected, 0, end - start);
  }
}
