package io.sluice.config;

import java.time.Duration;

/**
 * Server-sent-events behaviour of a route ({@code routes[].sse}).
 *
 * @param heartbeat a {@code : ping} comment is sent whenever the upstream has been silent this
 *     long (also before the first token); {@link Duration#ZERO} turns heartbeats off
 * @param resume resumable streams ({@code Last-Event-ID})
 * @param longPoll the long-polling transport
 */
public record SseConfig(Duration heartbeat, Resume resume, LongPoll longPoll) {
  public static final SseConfig DEFAULTS = new SseConfig(Duration.ofSeconds(15), Resume.OFF, LongPoll.OFF);

  public boolean heartbeats() {
    return !heartbeat.isZero();
  }

  /** Streams on this route may become sessions (resume or long polling is on). */
  public boolean sessions() {
    return resume.enabled() || longPoll.enabled();
  }

  /**
   * {@code sse.resume}. Its buffer and ttl settings also size long-polling sessions.
   *
   * @param bufferEvents at most this many of a session's last events are kept
   * @param bufferBytes and at most this many bytes of them
   * @param ttl how long a session outlives its last client (the generation goes on meanwhile)
   * @param store null for this instance's memory, else the {@code redis://} URI shared by the fleet
   */
  public record Resume(boolean enabled, int bufferEvents, long bufferBytes, Duration ttl, String store) {
    public static final Resume OFF = new Resume(false, 1024, 1024 * 1024, Duration.ofMinutes(5), null);
  }

  /** {@code sse.long-poll}: a poll waits up to {@code maxWait} (YAML {@code wait}) for new events. */
  public record LongPoll(boolean enabled, Duration maxWait) {
    public static final LongPoll OFF = new LongPoll(false, Duration.ofSeconds(25));
  }
}
