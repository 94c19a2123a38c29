package io.sluice.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The header rules of a reverse proxy: hop-by-hop headers never cross the gateway,
 * {@code X-Forwarded-*} are added, {@code X-Request-Id} is kept when valid or generated.
 */
public final class ProxyHeaders {
  public static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
  public static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  public static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  public static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
  public static final AsciiString X_ACCEL_BUFFERING = AsciiString.cached("x-accel-buffering");

  /** RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies still see. */
  private static final List<AsciiString> HOP_BY_HOP = List.of(
      HttpHeaderNames.CONNECTION,
      HttpHeaderNames.KEEP_ALIVE,
      HttpHeaderNames.PROXY_CONNECTION,
      HttpHeaderNames.PROXY_AUTHENTICATE,
      HttpHeaderNames.PROXY_AUTHORIZATION,
      HttpHeaderNames.TE,
      HttpHeaderNames.TRAILER,
      HttpHeaderNames.TRANSFER_ENCODING,
      HttpHeaderNames.UPGRADE);

  /** Kept once: {@code ExtensionHeaderNames.values()} is a new array per call, and this runs per request. */
  private static final AsciiString[] HTTP2_CONVERSION = Arrays.stream(HttpConversionUtil.ExtensionHeaderNames.values())
      .map(HttpConversionUtil.ExtensionHeaderNames::text)
      .toArray(AsciiString[]::new);

  private ProxyHeaders() {}

  /** Removes hop-by-hop headers, including every header the {@code Connection} header names. */
  public static void removeHopByHop(HttpHeaders headers) {
    // contains before getAll: most requests carry no Connection header, and getAll makes a list
    // per call (this runs on every request and every response).
    if (headers.contains(HttpHeaderNames.CONNECTION)) {
      for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) { // a copy: safe to remove while walking it
        removeListed(headers, value);
      }
    }
    for (AsciiString name : HOP_BY_HOP) {
      headers.remove(name);
    }
  }

  /** Removes each header a {@code Connection} value names (a comma-separated list of names). */
  private static void removeListed(HttpHeaders headers, String value) {
    int start = 0;
    while (start <= value.length()) {
      int comma = value.indexOf(',', start);
      int end = comma < 0 ? value.length() : comma;
      String name = value.substring(start, end).trim();
      if (!name.isEmpty()) {
        headers.remove(name);
      }
      start = end + 1;
    }
  }

  /**
   * Removes the headers Netty's HTTP/2-to-HTTP/1.1 conversion adds to a request that came over
   * HTTP/2 ({@code x-http2-scheme}, {@code x-http2-stream-id}, …, {@link
   * HttpConversionUtil.ExtensionHeaderNames}): notes about the gateway's own connection, which the
   * upstream must not get. Removed whatever the transport: over HTTP/1.1 a client that sends them
   * only pretends to be something the gateway's HTTP/2 stack wrote.
   */
  public static void removeHttp2Conversion(HttpHeaders headers) {
    for (AsciiString name : HTTP2_CONVERSION) {
      headers.remove(name);
    }
  }

  /** The client's request id when it is 1–128 chars of {@code [A-Za-z0-9._-]}, else null. */
  public static String validRequestId(String candidate) {
    if (candidate == null || candidate.isEmpty() || candidate.length() > 128) {
      return null;
    }
    for (int i = 0; i < candidate.length(); i++) {
      char c = candidate.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == '-';
      if (!ok) {
        return null;
      }
    }
    return candidate;
  }

  /** A fresh 128-bit random request id, 32 hex digits. */
  public static String newRequestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    // By hand rather than String.format("%016x%016x"): a Formatter and its parse per request were
    // ~1 KB of garbage on the event loop; this is the text's bytes and the String.
    byte[] hex = new byte[32];
    writeHex(hex, 0, random.nextLong());
    writeHex(hex, 16, random.nextLong());
    return new String(hex, StandardCharsets.ISO_8859_1);
  }

  private static void writeHex(byte[] into, int at, long value) {
    for (int i = at + 15; i >= at; i--, value >>>= 4) {
      into[i] = (byte) "0123456789abcdef".charAt((int) (value & 0xf));
    }
  }

  /** Appends the client address to {@code X-Forwarded-For} and records protocol and host. */
  public static void addForwarded(HttpHeaders headers, String clientIp, String proto, String clientHost) {
    if (!headers.contains(X_FORWARDED_FOR)) {
      // The usual case, without the list and the join below (whose result it equals).
      headers.set(X_FORWARDED_FOR, clientIp);
    } else {
      appendForwardedFor(headers, clientIp);
    }
    headers.set(X_FORWARDED_PROTO, proto);
    if (clientHost != null) {
      headers.set(X_FORWARDED_HOST, clientHost);
    } else {
      headers.remove(X_FORWARDED_HOST);
    }
  }

  private static void appendForwardedFor(HttpHeaders headers, String clientIp) {
    // Several X-Forwarded-For lines are one list (RFC 9110 §5.3): keep every hop, in order.
    List<String> hops = new ArrayList<>();
    for (String line : headers.getAll(X_FORWARDED_FOR)) {
      if (!line.isBlank()) {
        hops.add(line.trim());
      }
    }
    hops.add(clientIp);
    headers.set(X_FORWARDED_FOR, String.join(", ", hops));
  }
}
