package io.sluice.http;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;

/**
 * The trailer sets the HTTP decoders make ({@code HttpDecoderConfig.setTrailersFactory}): Netty's
 * default trailers (same name and value validation, so a forbidden trailer such as
 * {@code Content-Length} is still refused), but with a hash table of two buckets, not sixteen.
 * Every body of known length ends in a last chunk with its own trailer set — one per request with
 * a body, one per upstream answer with a {@code Content-Length} — and it is nearly always empty:
 * 56 bytes less garbage each time. Trailers, when a chunked body has some, still work: a few names
 * share a bucket.
 */
public final class TrailerHeaders implements HttpHeadersFactory {
  public static final TrailerHeaders INSTANCE = new TrailerHeaders();

  private static final DefaultHttpHeadersFactory DEFAULT = DefaultHttpHeadersFactory.trailersFactory();
  private static final int BUCKETS = 2;

  private TrailerHeaders() {}

  @Override
  public HttpHeaders newHeaders() {
    return new Small();
  }

  @Override
  public HttpHeaders newEmptyHeaders() {
    return DEFAULT.newEmptyHeaders();
  }

  /** Netty's constructor with a size hint is protected: this opens it, nothing more. */
  private static final class Small extends DefaultHttpHeaders {
    Small() {
      super(DEFAULT.getNameValidator(), DEFAULT.getValueValidator(), BUCKETS);
    }
  }
}
