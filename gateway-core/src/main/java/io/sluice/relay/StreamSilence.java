package io.sluice.relay;

import io.netty.channel.EventLoop;
import io.sluice.config.SseConfig;
import io.sluice.http.ErrorKind;

/**
 * The silence watch of one committed answer ({@link SilenceWatch}), bound to what serves it: the
 * upstream attempt it is read from (its reads paused for a slow client are no silence of the
 * upstream's; its {@code stream-idle-timeout}), the body relay that pings the client
 * ({@code sse.heartbeat}, event streams only), and the exchange's end — an upstream silent past its
 * idle timeout ends the stream with an {@code upstream_timeout} error.
 *
 * <p>Made by {@link ProxyCall} when {@link StreamPace} arms the watch; nothing of it changes after
 * the commit (no other attempt or body follows), so it keeps them rather than asking the call.
 *
 * <p>Threading: the client channel's event loop (the wheel only hands the check back to it).
 */
final class StreamSilence extends SilenceWatch {
  private final UpstreamAttempt attempt;
  private final BodyRelay body;
  private final SseConfig sse;
  private final RelayEnd end;

  StreamSilence(EventLoop loop, UpstreamAttempt attempt, BodyRelay body, SseConfig sse, RelayEnd end) {
    super(loop);
    this.attempt = attempt;
    this.body = body;
    this.sse = sse;
    this.end = end;
  }

  @Override
  long idleNanos() {
    return attempt.upstream().config().streamIdleTimeout().toNanos();
  }

  @Override
  long heartbeatNanos() {
    return body.sse() && sse.heartbeats() ? sse.heartbeat().toNanos() : 0;
  }

  @Override
  boolean ended() {
    return end.ended();
  }

  @Override
  boolean readingPaused() {
    return attempt.readingPaused();
  }

  @Override
  void silentTooLong() {
    attempt.record("timeout");
    attempt.drop();
    attempt.end(null);
    end.failMidStream(body, ErrorKind.UPSTREAM_TIMEOUT, "the upstream sent nothing for "
        + attempt.upstream().config().streamIdleTimeout().toMillis() + "ms");
  }

  @Override
  boolean ping() {
    return body.ping();
  }
}
