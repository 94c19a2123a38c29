package io.sluice.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.sluice.http.HeadFacts;

/**
 * The client's request as the gateway has read it so far: the head, its normalized path and raw
 * query, and the body gathered (under the configured cap) until it is complete.
 *
 * <p>The body is the received chunk itself when it came in one (nearly every request's), else a
 * composite of the received chunks — never a copy; it is released when the exchange ends
 * ({@link #release}), after the upstream request took its own reference.
 */
final class IncomingRequest {
  private HttpRequest head; // null once the answer's head was sent
  private final String path;
  private final String query;
  private final ByteBufAllocator alloc;
  private ByteBuf body = Unpooled.EMPTY_BUFFER; // no chunk yet: the shared empty buffer (its release is a no-op)
  private boolean chunks; // a chunk was appended
  private CompositeByteBuf gathered; // the body once a second chunk came (a first chunk could be a composite too)
  private boolean complete;

  /** @param alloc makes the composite when a second chunk of the body comes */
  IncomingRequest(HttpRequest head, String path, String query, ByteBufAllocator alloc) {
    this.head = head;
    this.path = path;
    this.query = query;
    this.alloc = alloc;
  }

  /** The client connection's allocator (pooled, direct). */
  ByteBufAllocator alloc() {
    return alloc;
  }

  /** The request's head; null once the head of the upstream's answer was sent ({@link #answerCommitted}). */
  HttpRequest head() {
    return head;
  }

  /**
   * The head of the upstream's answer was sent: nothing reads the request's head again (the
   * upstream request was built, no other attempt follows), so it is not kept for the whole life of
   * a stream (gateway-server/docs/memory.md).
   */
  void answerCommitted() {
    head = null;
  }

  /** The normalized path, without the query. */
  String path() {
    return path;
  }

  /** The query with its {@code ?}, or empty. */
  String query() {
    return query;
  }

  /** The body received so far (all of it once {@link #complete()}). */
  ByteBuf body() {
    return body;
  }

  int bodyBytes() {
    return body == null ? 0 : body.readableBytes();
  }

  /** Whether {@code more} bytes still fit under {@code max}. */
  boolean fits(int more, long max) {
    return bodyBytes() + (long) more <= max;
  }

  /** Adds a chunk of the body (takes a reference of its own). */
  void append(ByteBuf chunk) {
    if (!chunks) {
      // The first chunk is the body (a composite and its component array per request were
      // garbage for the one chunk that nearly every body is).
      chunks = true;
      body = chunk.retain();
      return;
    }
    if (gathered == null) {
      gathered = alloc.compositeBuffer(64);
      gathered.addComponent(true, body); // the first chunk's reference passes to the composite
      body = gathered;
    }
    gathered.addComponent(true, chunk.retain());
  }

  /** The last chunk arrived. */
  void markComplete() {
    complete = true;
  }

  boolean complete() {
    return complete;
  }

  /** Replaces the body (a rewrite for usage tracking); the old one is released. */
  void replaceBody(ByteBuf rewritten) {
    body.release();
    body = rewritten;
  }

  /** Whether the head announces a body (that a gateway answer must skip or close over). */
  boolean announcesBody() {
    return head != null && (HttpUtil.getContentLength(head, 0L) > 0 || HeadFacts.chunked(head));
  }

  void release() {
    if (body != null) {
      body.release();
      body = null;
    }
  }
}
