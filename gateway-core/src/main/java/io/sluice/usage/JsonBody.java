package io.sluice.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteBufferFeeder;
import io.netty.buffer.ByteBuf;
import io.sluice.config.RouteConfig.Api;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A non-streamed JSON answer parsed for its usage as it passes, chunk by chunk, with Jackson's
 * non-blocking parser: nothing of the body is kept. Up to {@link #MAX_BYTES}; past that, parsing
 * stops and the rest counts by the byte rule ({@link #overflowBytes}). Malformed JSON never
 * throws: the body then has no usage.
 *
 * <p>Threading: not thread-safe; one per tracker.
 */
final class JsonBody {
  /** Bodies are parsed up to this size; beyond it usage is estimated. */
  static final int MAX_BYTES = 4 * 1024 * 1024;

  private static final JsonFactory JSON = new JsonFactory();

  private final UsageScan scan;
  private final UsageShape shape;
  private JsonParser parser;
  private JsonWalker walker;
  private long bytes;
  private long overflowBytes;
  private boolean failed;
  private boolean ended;

  /** @param api the route's api: which shape of answer to read (one that carries usage) */
  JsonBody(UsageScan scan, Api api) {
    this.scan = scan;
    this.shape = switch (api) {
      case OPENAI_CHAT -> UsageShape.CHAT;
      case OPENAI_RESPONSES -> UsageShape.RESPONSES_BODY;
      case ANTHROPIC_MESSAGES -> UsageShape.ANTHROPIC_BODY;
      case PASSTHROUGH, MODELS -> throw new IllegalStateException();
    };
  }

  /** The shape the body is read as (what {@link UsageTracker#commit} takes its figures by). */
  UsageShape shape() {
    return shape;
  }

  /** The next bytes of the body, read in place (the buffer's indexes and reference count unchanged). */
  void feed(ByteBuf chunk) {
    if (chunk.nioBufferCount() == 1) {
      feed(chunk.nioBuffer());
    } else {
      for (ByteBuffer part : chunk.nioBuffers()) {
        feed(part);
      }
    }
  }

  /** The next bytes of the body (not kept: parsed before this returns). */
  void feed(ByteBuffer chunk) {
    int length = chunk.remaining();
    if (ended || length == 0) {
      return;
    }
    if (failed) {
      if (bytes >= MAX_BYTES) {
        overflowBytes += length;
      }
      bytes += length;
      return;
    }
    if (bytes + length > MAX_BYTES) {
      // past the cap: stop parsing; the rest counts by the byte rule
      overflowBytes += bytes + length - MAX_BYTES;
      bytes += length;
      failed = true;
      close();
      return;
    }
    bytes += length;
    try {
      if (parser == null) {
        parser = JSON.createNonBlockingByteBufferParser();
        scan.reset(shape);
        walker = new JsonWalker(scan);
      }
      ((ByteBufferFeeder) parser.getNonBlockingInputFeeder()).feedInput(chunk);
      drain();
    } catch (IOException | RuntimeException e) {
      failed = true;
      close();
    }
  }

  /** The body ended: true (once) when it was complete JSON, its figures then in the scan. */
  boolean end() {
    if (ended) {
      return false;
    }
    ended = true;
    boolean complete = false;
    if (parser != null && !failed) {
      try {
        ((ByteBufferFeeder) parser.getNonBlockingInputFeeder()).endOfInput();
        drain();
        complete = !failed && walker.complete();
      } catch (IOException | RuntimeException e) {
        failed = true;
      }
    }
    close();
    return complete;
  }

  /** Bytes past {@link #MAX_BYTES}, not parsed. */
  long overflowBytes() {
    return overflowBytes;
  }

  private void drain() throws IOException {
    JsonToken t;
    while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
      walker.token(parser, t);
    }
  }

  private void close() {
    if (parser != null) {
      try {
        parser.close();
      } catch (IOException | RuntimeException e) {
        // nothing to release
      }
      parser = null;
    }
  }
}
