package io.sluice.exchange;

import java.math.BigDecimal;
import io.sluice.telemetry.ExchangeTrace;
import io.sluice.telemetry.GenAiRequest;
import java.util.Arrays;

/**
 * One request and its response as they cross the gateway: identity, the route taken, the
 * endpoint used, the status and byte counts, and a timeline of {@link Moment}s.
 *
 * <p>Threading: confined to the client channel's event loop.
 */
public final class Exchange {
  /** Moment.values() copies the array on every call: the count once. */
  private static final int MOMENTS = Moment.values().length;

  private final String requestId;
  private final String clientIp;
  private final String method;
  private final String path;
  private final long[] timeline = new long[MOMENTS];
  private final long startNanos;
  private String routeName = "none";
  private String upstreamName;
  private String model; // the model the serving upstream was asked for
  private int failovers; // attempts abandoned before content for another target
  private String endpointUrl;
  private int status;
  private long bytesIn;
  private long bytesOut;
  private boolean streaming;
  private String outcome = "ok";
  private String consumer;
  private Long tokensIn;
  private Long tokensOut;
  private boolean tokensEstimated;
  private Long tokensCached;
  private Long tokensReasoning;
  private BigDecimal costUsd;
  private ExchangeTrace trace = ExchangeTrace.NONE;
  private GenAiRequest genAi;

  public Exchange(String requestId, String clientIp, String method, String path, long startNanos) {
    this.requestId = requestId;
    this.clientIp = clientIp;
    this.method = method;
    this.path = path;
    this.startNanos = startNanos;
    Arrays.fill(timeline, -1);
    timeline[Moment.IN_REQ_HEADERS_RECEIVED.ordinal()] = startNanos;
  }

  /** Records a moment once; later calls for the same moment are ignored. */
  public void mark(Moment moment, long nanos) {
    if (timeline[moment.ordinal()] < 0) {
      timeline[moment.ordinal()] = nanos;
    }
  }

  /** @return the moment's time in nanos, or -1 when it did not happen */
  public long at(Moment moment) {
    return timeline[moment.ordinal()];
  }

  public long startNanos() {
    return startNanos;
  }

  public String requestId() {
    return requestId;
  }

  public String clientIp() {
    return clientIp;
  }

  public String method() {
    return method;
  }

  public String path() {
    return path;
  }

  public String routeName() {
    return routeName;
  }

  public void routeName(String routeName) {
    this.routeName = routeName;
  }

  public String upstreamName() {
    return upstreamName;
  }

  public void upstream(String upstreamName, String endpointUrl) {
    this.upstreamName = upstreamName;
    this.endpointUrl = endpointUrl;
  }

  /** The model the serving upstream was asked for (an alias's target model), or null. */
  public String model() {
    return model;
  }

  public void model(String model) {
    this.model = model;
  }

  /** Attempts abandoned before content for another target of a model alias. */
  public int failovers() {
    return failovers;
  }

  public void failedOver() {
    failovers++;
  }

  public String endpointUrl() {
    return endpointUrl;
  }

  public int status() {
    return status;
  }

  public void status(int status) {
    this.status = status;
  }

  public long bytesIn() {
    return bytesIn;
  }

  public void addBytesIn(long n) {
    bytesIn += n;
  }

  public long bytesOut() {
    return bytesOut;
  }

  public void addBytesOut(long n) {
    bytesOut += n;
  }

  public boolean streaming() {
    return streaming;
  }

  public void streaming(boolean streaming) {
    this.streaming = streaming;
  }

  /** The consumer an authentication plugin named, or null. */
  public String consumer() {
    return consumer;
  }

  public void consumer(String consumer) {
    this.consumer = consumer;
  }

  /** Prompt tokens, when known. */
  public Long tokensIn() {
    return tokensIn;
  }

  /** Generated tokens, when known. */
  public Long tokensOut() {
    return tokensOut;
  }

  /** True when {@link #tokensOut} was estimated from the text rather than reported. */
  public boolean tokensEstimated() {
    return tokensEstimated;
  }

  /** Cached input tokens (part of {@link #tokensIn}), when known. */
  public Long tokensCached() {
    return tokensCached;
  }

  /** Reasoning tokens (part of {@link #tokensOut}), when known. */
  public Long tokensReasoning() {
    return tokensReasoning;
  }

  public void tokenDetails(long cached, long reasoning) {
    this.tokensCached = cached;
    this.tokensReasoning = reasoning;
  }

  /** What the exchange cost in USD by the pricing table (0 for an unpriced model); null without pricing or usage. */
  public BigDecimal costUsd() {
    return costUsd;
  }

  public void costUsd(BigDecimal usd) {
    this.costUsd = usd;
  }

  public void tokens(Long in, Long out, boolean estimated) {
    this.tokensIn = in;
    this.tokensOut = out;
    this.tokensEstimated = estimated;
  }

  /** The exchange's spans ({@link ExchangeTrace#NONE} when tracing is off). */
  public ExchangeTrace trace() {
    return trace;
  }

  public void trace(ExchangeTrace trace) {
    this.trace = trace;
  }

  /** What the request asks of a model (GenAI operation, provider, model), or null when it is no model call. */
  public GenAiRequest genAi() {
    return genAi;
  }

  public void genAi(GenAiRequest genAi) {
    this.genAi = genAi;
  }

  /** How the exchange ended: {@code ok}, {@code client_closed}, {@code upstream_failed}, … */
  public String outcome() {
    return outcome;
  }

  public void outcome(String outcome) {
    this.outcome = outcome;
  }
}
