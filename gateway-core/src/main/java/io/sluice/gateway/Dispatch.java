package io.sluice.gateway;

import io.sluice.exchange.ClientLeg;
import io.sluice.config.RouteConfig.Api;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.relay.ClientRelay;
import io.sluice.relay.ProxyCall;
import io.sluice.relay.Targets;
import io.sluice.route.ModelExtractor;
import io.sluice.route.Route;
import io.sluice.upstream.Upstream;
import io.sluice.usage.PromptEstimate;
import io.sluice.usage.RequestInfo;
import io.sluice.usage.Usage;
import io.sluice.usage.UsageTracker;
import io.sluice.websocket.WebSocketProxy;
import java.util.concurrent.Executor;

/**
 * An admitted request on its way to the route's upstream: a WebSocket session when it is an
 * upgrade on a WebSocket route (or an HTTP/2 extended CONNECT), else an HTTP relay
 * ({@link ProxyCall}) with usage tracking and gzip as the route and the client want them. Holds
 * whichever runs, for the connection's events to reach it.
 */
final class Dispatch implements ClientRelay, ExchangeEnding.UsageSource {
  private final GatewayContext gateway;
  private final Exchange exchange;
  private final IncomingRequest request;
  private final Route route;
  private final ClientLeg client;
  private final UpstreamRequests upstreamRequests;
  private ProxyCall proxy;
  private PromptEstimate prompt; // counted only when needed (see keepPromptEstimate)
  private WebSocketProxy webSocket;

  Dispatch(GatewayContext gateway, Exchange exchange, IncomingRequest request, Admission admission, ClientLeg client,
      UpstreamRequests upstreamRequests) {
    this.gateway = gateway;
    this.exchange = exchange;
    this.request = request;
    this.route = admission.route();
    this.client = client;
    this.upstreamRequests = upstreamRequests;
  }

  /**
   * Starts the upstream leg.
   *
   * @param keepAlive whether the client connection may be reused after the response
   */
  void start(boolean keepAlive) {
    if (route.config().api() == Api.MODELS) {
      client.sendResponse(ModelList.response(route.config().models().isEmpty() ? gateway.aliases().names()
          : route.config().models(), gateway.aliases().createdAt()));
      return;
    }
    if (WebSocketProxy.isUpgrade(route.config().websocket(), request.head(), client.context())) {
      Upstream upstream = gateway.upstreams().get(route.upstreamName());
      webSocket = new WebSocketProxy(client, exchange, upstream, request.head(), upstreamRequests.webSocket(upstream),
          gateway.metrics());
      webSocket.start();
      return;
    }
    RequestInfo info = upstreamRequests.inspect(); // first: it may rewrite the body that the request carries
    prompt = info != null ? info.prompt() : null;
    String model = info != null ? info.model() : ModelExtractor.model(request.body());
    Targets targets;
    if (model != null && route.config().models().contains(model)) {
      targets = new AliasTargets(gateway, route, exchange, gateway.aliases().plan(model,
          route.config().failover().maxAttempts()),
          t -> upstreamRequests.target(gateway.upstreams().get(t.upstream()), info, true, t.model(), keepAlive));
    } else if (route.upstreamName() != null) {
      targets = Targets.single(upstreamRequests.target(gateway.upstreams().get(route.upstreamName()), info, false,
          model, keepAlive));
    } else {
      client.sendError(ErrorKind.MODEL_NOT_FOUND, model == null
          ? "the request names no model; this route serves: " + String.join(", ", route.config().models())
          : "the model '" + model + "' does not exist on this route; it serves: "
              + String.join(", ", route.config().models()));
      return;
    }
    proxy = new ProxyCall(client, exchange, targets, route.timeout(), gateway.metrics());
    proxy.start();
  }

  /**
   * The request's body is about to be freed before the exchange ends (its client left a stream that
   * goes on as a session): the prompt estimate is counted now, in case the answer reports no usage.
   */
  void keepPromptEstimate() {
    if (prompt != null) {
      prompt.settle();
    }
  }

  @Override
  public Usage usage() {
    if (webSocket != null) {
      return webSocket.usage();
    }
    UsageTracker usage = proxy == null ? null : proxy.usage();
    return usage == null ? null : usage.usage();
  }

  @Override
  public boolean usageReady() {
    UsageTracker usage = webSocket != null || proxy == null ? null : proxy.usage();
    return usage == null || usage.usageReady();
  }

  @Override
  public void release() {
    UsageTracker usage = proxy == null ? null : proxy.usage();
    if (usage != null) {
      usage.release();
    }
  }

  /** Now, or once the tokenizer has loaded: {@link UsageTracker#whenUsageReady}. */
  @Override
  public void whenUsageReady(Executor loop, Runnable task) {
    UsageTracker usage = webSocket != null || proxy == null ? null : proxy.usage();
    if (usage == null) {
      task.run(); // a WebSocket session's usage is what its upstream reported
    } else {
      usage.whenUsageReady(loop, task);
    }
  }

  /** Whether the stream goes on without its client (it is a session): see {@link ProxyCall#outlivesClient}. */
  boolean outlivesClient() {
    return proxy != null && proxy.outlivesClient();
  }

  /** The client left a stream that goes on as a session; {@code later} ends the exchange. */
  void continueWithout(ClientLeg later) {
    proxy.continueWithout(later);
  }

  /** A draining gateway tells a session's client to reconnect (elsewhere) before it leaves. */
  void askClientToReconnect() {
    proxy.askClientToReconnect();
  }

  @Override
  public void clientWritabilityChanged(boolean writable) {
    if (proxy != null) {
      proxy.clientWritabilityChanged(writable); // a WebSocket session watches writability itself
    }
  }

  @Override
  public void clientClosed() {
    if (proxy != null) {
      proxy.clientClosed();
    } else {
      webSocket.clientClosed();
    }
  }

  /** The drain timeout is over: a stream gets {@code event: error}, a WebSocket session close 1001. */
  @Override
  public void drainNow() {
    if (proxy != null) {
      proxy.drainNow();
    } else {
      webSocket.drainNow();
    }
  }
}
