package io.sluice.demo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small model server speaking OpenAI Chat Completions and Anthropic Messages, so that {@code
 * --demo} and {@code --mock-upstream PORT} work on a machine without any real model server.
 *
 * <p>It answers {@code POST /v1/chat/completions} (plain JSON, or server-sent events when the request
 * says {@code "stream": true}; see {@link MockChat}), {@code POST /v1/messages} (the same in
 * Anthropic's Messages shape, see {@link MockMessages}), {@code GET /v1/models}, {@code GET /health}
 * and WebSocket sessions on {@code /v1/realtime} (an echo, see {@link MockRealtime}); everything
 * else is a 404 with an OpenAI-style error body. The reply is {@link Options#reply()}, cut into
 * word tokens; streamed tokens are paced {@link Options#tokenInterval()} apart on the connection's
 * event loop, so the gateway in front of it sees a realistic trickle of small SSE events rather
 * than one burst.
 *
 * <p>This class is the server: bootstrap, options, shutdown, the control headers' names, and what
 * the APIs share (the reply's tokens, prompt word counts, ids, JSON). Each connection is a
 * {@link MockConnection}, which routes by path, reads the control headers and paces the streams.
 *
 * <p>Per request, for benchmarks and tests: {@code max_tokens} (or {@code max_completion_tokens})
 * is the exact number of content tokens to send (the reply is cut short, or its words repeated as
 * often as needed; {@code finish_reason} is then {@code "length"}), and the request header {@value
 * #TOKEN_INTERVAL_HEADER} (milliseconds, {@code 0} = no pacing) overrides the server's interval.
 * Unpaced streams are written as fast as the client reads them (writes wait while the connection
 * is not writable), so a long unpaced stream never piles up in memory; with the request header
 * {@value #BURST_HEADER}{@code : true} their events are flushed in batches rather than one by one.
 *
 * <p>Runs on its own single-threaded event loop group, independent of the gateway's, so that the
 * mock's pacing timers never compete with (or hide latency in) the gateway's own loops.
 */
public final class MockModelServer implements AutoCloseable {

  /** The only model this server knows; also used when a request names no model. */
  public static final String MODEL_ID = "sluice-mock-1";

  /** Largest request body accepted; the aggregator answers 413 above it. */
  static final int MAX_REQUEST_BODY = 1024 * 1024;

  private static final Logger log = LoggerFactory.getLogger(MockModelServer.class);

  // Trailing garbage after the JSON object is a client bug a real server rejects too.
  static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  // A token is a word together with the whitespace before it, so that concatenating the tokens
  // gives back the reply exactly (the way real tokenizers attach the leading space: "Hello", " world").
  private static final Pattern TOKEN = Pattern.compile("\\s*\\S+");

  /** Request header: milliseconds between two streamed tokens for this request; 0 = no pacing. */
  public static final String TOKEN_INTERVAL_HEADER = "x-mock-token-interval-ms";

  /** Largest accepted {@value #TOKEN_INTERVAL_HEADER}: one hour. */
  static final long MAX_TOKEN_INTERVAL_MS = 3_600_000;

  /**
   * Request header: {@code true} writes an unpaced stream's events back to back and flushes once
   * per batch of {@value #UNPACED_BATCH} events (many events per read for the proxy in front, as
   * from a fast model or a catching-up connection) instead of flushing every event on its own.
   */
  public static final String BURST_HEADER = "x-mock-burst";

  /** Unpaced tokens written per turn of the event loop before yielding to other connections. */
  static final int UNPACED_BATCH = 64;

  /**
   * How the mock answers.
   *
   * @param tokenInterval pause between two streamed tokens ({@link Duration#ZERO} for no pause)
   * @param reply the assistant's reply to every chat completion
   */
  public record Options(Duration tokenInterval, String reply) {

    /** 60 ms per token (visible in a terminal, yet a full reply takes only a few seconds). */
    public static final Options DEFAULTS =
        new Options(
            Duration.ofMillis(60),
            "Hello from Sluice! This reply comes from the embedded mock model server, streamed one"
                + " word at a time so you can watch tokens flow through the gateway as server-sent"
                + " events. Rate limits, metrics and resumable streams all see exactly what a real"
                + " model would send.");

    /** Validates the options. */
    public Options {
      Objects.requireNonNull(tokenInterval, "tokenInterval");
      Objects.requireNonNull(reply, "reply");
      if (tokenInterval.isNegative()) {
        throw new IllegalArgumentException("tokenInterval must not be negative: " + tokenInterval);
      }
    }
  }

  private final EventLoopGroup group;
  private final Channel serverChannel;
  private final int port;
  private final AtomicInteger activeStreams;
  private final AtomicBoolean closed = new AtomicBoolean();

  private MockModelServer(
      EventLoopGroup group, Channel serverChannel, int port, AtomicInteger activeStreams) {
    this.group = group;
    this.serverChannel = serverChannel;
    this.port = port;
    this.activeStreams = activeStreams;
  }

  /**
   * Starts a mock server listening on {@code host:port}.
   *
   * @param host address to bind, e.g. {@code 127.0.0.1} or {@code 0.0.0.0}
   * @param port TCP port, or 0 for an ephemeral port (see {@link #port()})
   * @param options reply and pacing
   * @return the running server; {@link #close()} it when done
   * @throws UncheckedIOException when the address cannot be bound (e.g. the port is in use)
   */
  public static MockModelServer start(String host, int port, Options options) {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(options, "options");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    List<String> tokens = tokenize(options.reply());
    AtomicInteger activeStreams = new AtomicInteger();
    // One thread is plenty: the work per connection is a few small writes per token.
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("sluice-mock"), NioIoHandler.newFactory());
    try {
      ServerBootstrap bootstrap =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              // Tokens are tiny writes; Nagle would batch them and defeat the pacing.
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      ch.pipeline()
                          .addLast(new HttpServerCodec())
                          .addLast(new HttpObjectAggregator(MAX_REQUEST_BODY))
                          .addLast(new MockConnection(options, tokens, activeStreams));
                    }
                  });
      Channel channel = bootstrap.bind(host, port).syncUninterruptibly().channel();
      int boundPort = ((InetSocketAddress) channel.localAddress()).getPort();
      log.debug("mock model server listening on {}:{}", host, boundPort);
      return new MockModelServer(group, channel, boundPort, activeStreams);
    } catch (Throwable t) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      // Netty rethrows the bind failure (a checked IOException) undeclared; give callers a
      // declared type so the CLI can map "port in use" to its exit code.
      if (t instanceof IOException io) {
        throw new UncheckedIOException("cannot listen on " + host + ":" + port + ": " + io.getMessage(), io);
      }
      throw t;
    }
  }

  /** The port actually bound (the ephemeral one when started with port 0). */
  public int port() {
    return port;
  }

  /** Streamed responses currently in progress (for tests: proves timers stop on disconnect). */
  int activeStreams() {
    return activeStreams.get();
  }

  /** Stops listening, drops open connections (and their streams) and stops the event loop. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      serverChannel.close().syncUninterruptibly();
    } finally {
      // No quiet period: nothing is submitted to this group from outside, so waiting buys nothing.
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  static List<String> tokenize(String reply) {
    List<String> tokens = new ArrayList<>();
    Matcher m = TOKEN.matcher(reply);
    int end = 0;
    while (m.find()) {
      tokens.add(m.group());
      end = m.end();
    }
    if (end < reply.length()) {
      // Trailing whitespace: keep it on the last token so the reply round-trips exactly.
      if (tokens.isEmpty()) {
        tokens.add(reply.substring(end));
      } else {
        tokens.set(tokens.size() - 1, tokens.get(tokens.size() - 1) + reply.substring(end));
      }
    }
    return List.copyOf(tokens);
  }

  /**
   * A rough prompt token count: the words of every message's text (a string or text parts; the
   * same in OpenAI Chat and Anthropic Messages).
   */
  static int countWords(JsonNode messages) {
    int words = 0;
    for (JsonNode message : messages) {
      words += contentWords(message.get("content"));
    }
    return words;
  }

  /** The words of one content value: a string, or an array of parts with {@code text}. */
  static int contentWords(JsonNode content) {
    int words = 0;
    if (content == null) {
      return 0;
    } else if (content.isTextual()) {
      words += wordCount(content.asText());
    } else if (content.isArray()) {
      for (JsonNode part : content) {
        words += wordCount(part.path("text").asText(""));
      }
    }
    return words;
  }

  private static int wordCount(String text) {
    String trimmed = text.strip();
    return trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
  }

  /** An id like the providers': {@code prefix} and 24 random letters and digits. */
  static String newId(String prefix) {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder sb = new StringBuilder(prefix);
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int i = 0; i < 24; i++) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  /**
   * A request body's JSON object, or {@code invalid} with the problem: {@code notJson} and the
   * parser's message, or that the body is not an object. Does not release {@code content}.
   */
  static <E extends Exception> JsonNode jsonObject(ByteBuf content, String notJson, Function<String, E> invalid)
      throws E {
    JsonNode body;
    try (ByteBufInputStream in = new ByteBufInputStream(content)) {
      body = JSON.readTree(in);
    } catch (IOException e) {
      throw invalid.apply(notJson + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
    if (body == null || !body.isObject()) {
      throw invalid.apply("The request body must be a JSON object.");
    }
    return body;
  }

  /** The mock's JSON bodies and events as bytes. */
  static byte[] toBytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise a JSON tree", e);
    }
  }

  /**
   * The content tokens of one answer: the reply's tokens, cut at {@code count} or repeated up to it.
   * A repetition of the reply starts with a space when the reply itself does not, so words never
   * run together.
   */
  record Tokens(List<String> reply, String wrappedFirst, int count) {
    static Tokens of(List<String> reply, Integer maxTokens) {
      if (reply.isEmpty()) {
        return new Tokens(reply, "", 0);
      }
      String first = reply.get(0);
      String wrappedFirst = Character.isWhitespace(first.charAt(0)) ? first : " " + first;
      return new Tokens(reply, wrappedFirst, maxTokens == null ? reply.size() : maxTokens);
    }

    String get(int i) {
      int n = reply.size();
      if (i < n) {
        return reply.get(i);
      }
      int j = i % n;
      return j == 0 ? wrappedFirst : reply.get(j);
    }

    /** Whether the answer is the whole reply exactly once (else max_tokens cut or repeated it). */
    boolean wholeReply() {
      return count == reply.size();
    }

    /** OpenAI's finish_reason: "stop" for the whole reply, else "length" (max_tokens decided). */
    String finishReason() {
      return wholeReply() ? "stop" : "length";
    }

    String join() {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < count; i++) {
        sb.append(get(i));
      }
      return sb.toString();
    }
  }
}
