package io.sluice.plugin;

import java.util.List;
import java.util.concurrent.Executor;

/**
 * A plugin's view of one request: plain strings, no Netty types, so a plugin is unit-tested with
 * a fake. All methods are called on the request's event loop; a plugin that waits for I/O returns
 * an incomplete stage and must not call back into the context from another thread.
 */
public interface RequestContext {
  /** The route's name. */
  String route();

  String method();

  /** The normalised path, without the query. */
  String path();

  /**
   * A request header's first value by (case-insensitive) name, or null.
   *
   * <p>The request's headers (and so its cookies) are readable until the head of the upstream's
   * answer is sent: in {@link Plugin#onRequest} and {@link Plugin#onResponseHeaders}. From then on
   * — {@code onStreamUsage}, {@code onUsage}, and {@code onComplete} after an upstream's answer —
   * the request has no headers any more (this returns null, {@link #headers} an empty list,
   * {@link #cookie} null): a stream can be held for hours, and its request's headers would stay
   * with it although the gateway is done with them (gateway-server/docs/memory.md). A plugin that
   * needs a header at the end reads it in {@code onRequest} and keeps what it needs itself, as
   * {@code key-auth} keeps its refusal. When the gateway answers itself (a rejection, an upstream
   * that could not be reached) the headers stay readable to the end. The route, method, path,
   * query parameters, client address and consumer stay readable throughout.
   */
  String header(String name);

  /** All values of a request header (empty once the answer's head was sent: see {@link #header}). */
  List<String> headers(String name);

  /** A query parameter's first (decoded) value, or null. */
  String queryParam(String name);

  /** A cookie's value, or null (also once the answer's head was sent: see {@link #header}). */
  String cookie(String name);

  /** The client's address, after PROXY protocol and trusted {@code X-Forwarded-For}. */
  String clientIp();

  /** True when this request asks to upgrade to WebSocket. */
  boolean isWebSocketUpgrade();

  /**
   * False when the gateway answers the request from a stream session (a resume with
   * {@code Last-Event-ID}, a long poll, a {@code DELETE} of a stream): it never reaches the model,
   * so token limits neither reserve nor charge it. Access and authentication plugins still apply.
   */
  default boolean generates() {
    return true;
  }

  /**
   * The route's {@code default-max-tokens} (the output a request that names no max tokens is
   * expected to use), or 0 when the route sets none.
   */
  default long defaultMaxTokens() {
    return 0;
  }

  /** The consumer an AUTHN plugin named, or null (anonymous). */
  String consumer();

  /** Names the consumer (AUTHN plugins). */
  void consumer(String name);

  /** Removes a header before the request goes upstream (credentials the upstream must not see). */
  void removeRequestHeader(String name);

  /** Removes a query parameter before the request goes upstream. */
  void removeQueryParam(String name);

  /** Adds a header to the response, whether it comes from the upstream or from a rejection. */
  void addResponseHeader(String name, String value);

  /** The request body, when the route reads it before the TRAFFIC phase (else null). */
  byte[] body();

  /**
   * Runs tasks on the request's event loop. A plugin that waited for I/O continues there before
   * it touches the context again ({@code fetch.thenApplyAsync(fn, request.executor())}). The
   * default runs them at once on the calling thread (fakes in unit tests).
   */
  default Executor executor() {
    return Runnable::run;
  }
}
