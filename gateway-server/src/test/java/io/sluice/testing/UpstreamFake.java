package io.sluice.testing;

/**
 * A fake model server a test gateway can be pointed at ({@link FakeUpstream},
 * {@link FakeRealtimeUpstream}): what {@link GatewayExtension} needs to put its address into a
 * config and to stop it.
 */
public interface UpstreamFake extends AutoCloseable {
  /** The base URL an upstream endpoint names to reach this fake. */
  String url();

  /** Stops the fake; it throws nothing, so a failed stop never hides a test's own failure. */
  @Override
  void close();
}
