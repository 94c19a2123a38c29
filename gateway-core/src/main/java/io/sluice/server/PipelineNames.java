package io.sluice.server;

/** Names of the client pipeline's handlers, in order, so that tests and later stages find them. */
public final class PipelineNames {
  public static final String CONNECTION_LIMIT = "connection-limit";
  public static final String PROXY_PROTOCOL_DECODER = "proxy-protocol-decoder";
  public static final String PROXY_PROTOCOL = "proxy-protocol";
  public static final String TLS = "tls";
  public static final String TLS_HANDSHAKE_LOG = "tls-handshake-log";
  /** {@link ClientTimeoutHandler}: request header, request body and idle timeouts. */
  public static final String TIMEOUTS = "timeouts";
  public static final String PROTOCOL_SELECT = "protocol-select";
  public static final String HTTP_CODEC = "http-codec";
  public static final String REQUEST_FRAMING = "request-framing";
  public static final String H2_CODEC = "h2-codec";
  public static final String H2_MULTIPLEX = "h2-multiplex";
  /** First in each HTTP/2 stream's child pipeline (RFC 8441 WebSocket streams). */
  public static final String H2_EXTENDED_CONNECT = "h2-extended-connect";
  /** In each HTTP/2 stream's child pipeline, before {@link #EXCHANGE}. */
  public static final String H2_STREAM_TO_HTTP = "h2-stream-to-http";
  public static final String EXCHANGE = "exchange";

  private PipelineNames() {}
}
