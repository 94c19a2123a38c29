package io.sluice.demo;

import static io.netty.handler.codec.http.HttpVersion.HTTP_1_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small model server speaking OpenAI Chat Completions and Anthropic Messages, so that {@code
 * --demo} and {@code --mock-upstream PORT} work on a machine without any real model server.
 *
 * <p>It answers {@code POST /v1/chat/completions} (plain JSON, or server-sent events when the request
 * says {@code "stream": true}), {@code POST /v1/messages} (the same in Anthropic's Messages shape, see
 * {@link MockMessages}), {@code GET /v1/models}, {@code GET /health} and WebSocket sessions on
 * {@code /v1/realtime} (an echo, see {@link MockRealtime}); everything else is a
 * 404 with an OpenAI-style error body. The reply is {@link Options#reply()}, cut into word
 * tokens; streamed tokens are paced {@link Options#tokenInterval()} apart on the connection's event
 * loop, so the gateway in front of it sees a realistic trickle of small SSE events rather than one
 * burst.
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
  private static final ObjectMapper JSON =
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
  private static final int UNPACED_BATCH = 64;

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
                          .addLast(new Handler(options, tokens, activeStreams));
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

  /** A parsed {@code /v1/chat/completions} request. */
  private record ChatRequest(
      String model, boolean stream, boolean includeUsage, Integer maxTokens, int promptTokens,
      long intervalNanos) {}

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

  /** A request we refuse with 400, carrying the OpenAI error fields. */
  private static final class BadRequest extends Exception {
    private final String param;
    private final String code;

    BadRequest(String message, String param, String code) {
      super(message, null, false, false);
      this.param = param;
      this.code = code;
    }
  }

  /**
   * One per connection (not sharable): it holds the connection's in-progress stream and the
   * pipelined requests waiting behind it.
   */
  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Options options;
    private final List<String> replyTokens;
    private final AtomicInteger activeStreams;
    // HTTP/1.1 pipelining: responses must go out in request order, so requests that arrive while a
    // stream is still being written wait here (retained; released when handled or on close).
    private final ArrayDeque<FullHttpRequest> pending = new ArrayDeque<>();
    private Stream stream;
    private boolean closing;

    Handler(Options options, List<String> replyTokens, AtomicInteger activeStreams) {
      this.options = options;
      this.replyTokens = replyTokens;
      this.activeStreams = activeStreams;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      if (closing) {
        return; // a previous response said "Connection: close"; the superclass releases req
      }
      if (stream != null) {
        pending.add(req.retain());
        return;
      }
      dispatch(ctx, req);
    }

    private void dispatch(ChannelHandlerContext ctx, FullHttpRequest req) {
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      if (!req.decoderResult().isSuccess()) {
        // The codec could not make sense of the request; the connection state is unknown, so close.
        sendError(ctx, HttpResponseStatus.BAD_REQUEST, "Malformed HTTP request.",
            "invalid_request_error", null, "bad_request", false);
        return;
      }
      String path = new QueryStringDecoder(req.uri()).path();
      HttpMethod method = req.method();
      boolean get = HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method);
      switch (path) {
        case "/v1/chat/completions" -> {
          if (HttpMethod.POST.equals(method)) {
            chatCompletion(ctx, req, keepAlive);
          } else {
            methodNotAllowed(ctx, "POST", keepAlive);
          }
        }
        case "/v1/messages" -> {
          if (HttpMethod.POST.equals(method)) {
            messages(ctx, req, keepAlive);
          } else {
            FullHttpResponse res = jsonResponse(HttpResponseStatus.METHOD_NOT_ALLOWED,
                MockMessages.error("invalid_request_error", "Method not allowed; use POST."));
            res.headers().set(HttpHeaderNames.ALLOW, "POST");
            send(ctx, res, keepAlive);
          }
        }
        case "/v1/models" -> {
          if (get) {
            sendJson(ctx, HttpResponseStatus.OK, models(), keepAlive);
          } else {
            methodNotAllowed(ctx, "GET, HEAD", keepAlive);
          }
        }
        case "/v1/realtime" -> {
          if (HttpMethod.GET.equals(method) && req.headers().containsValue(
              HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
            MockRealtime.upgrade(ctx, req);
          } else {
            sendError(ctx, HttpResponseStatus.BAD_REQUEST, "Expected a WebSocket upgrade.",
                "invalid_request_error", null, "websocket_required", keepAlive);
          }
        }
        case "/health" -> {
          if (get) {
            sendJson(ctx, HttpResponseStatus.OK, JSON.createObjectNode().put("status", "ok"), keepAlive);
          } else {
            methodNotAllowed(ctx, "GET, HEAD", keepAlive);
          }
        }
        default ->
            sendError(ctx, HttpResponseStatus.NOT_FOUND,
                "Unknown request URL: " + method + " " + path + ".",
                "not_found_error", null, "not_found", keepAlive);
      }
    }

    private void methodNotAllowed(ChannelHandlerContext ctx, String allow, boolean keepAlive) {
      FullHttpResponse res = errorResponse(HttpResponseStatus.METHOD_NOT_ALLOWED,
          "Method not allowed; use " + allow + ".", "invalid_request_error", null,
          "method_not_allowed");
      res.headers().set(HttpHeaderNames.ALLOW, allow);
      send(ctx, res, keepAlive);
    }

    private void chatCompletion(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive) {
      ChatRequest chat;
      try {
        chat = parse(req.content(), tokenInterval(req, options));
      } catch (BadRequest e) {
        sendError(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage(), "invalid_request_error",
            e.param, e.code, keepAlive);
        return;
      }
      Tokens tokens = Tokens.of(replyTokens, chat.maxTokens());
      String finishReason = tokens.finishReason();
      String id = newId("chatcmpl-");
      long created = Instant.now().getEpochSecond();
      if (chat.stream()) {
        stream = new Stream(ctx, new ChatEvents(id, created, chat, tokens), tokens.count(),
            chat.intervalNanos(), burst(req), keepAlive);
        stream.start();
        return;
      }
      ObjectNode body = JSON.createObjectNode()
          .put("id", id)
          .put("object", "chat.completion")
          .put("created", created)
          .put("model", chat.model());
      ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
      choice.putObject("message").put("role", "assistant").put("content", tokens.join());
      choice.putNull("logprobs");
      choice.put("finish_reason", finishReason);
      body.set("usage", usage(chat.promptTokens(), tokens.count()));
      sendJson(ctx, HttpResponseStatus.OK, body, keepAlive);
    }

    /** {@code POST /v1/messages}: Anthropic's shape ({@link MockMessages}), paced like a chat stream. */
    /** The request asked for a burst ({@value #BURST_HEADER}): honoured for unpaced streams. */
    private static boolean burst(FullHttpRequest req) {
      return "true".equalsIgnoreCase(req.headers().get(BURST_HEADER));
    }

    private void messages(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive) {
      MockMessages.Request request;
      long intervalNanos;
      try {
        intervalNanos = tokenInterval(req, options);
        request = MockMessages.parse(req.content());
      } catch (BadRequest | MockMessages.Invalid e) {
        sendJson(ctx, HttpResponseStatus.BAD_REQUEST,
            MockMessages.error("invalid_request_error", e.getMessage()), keepAlive);
        return;
      }
      Tokens tokens = Tokens.of(replyTokens, request.maxTokens());
      if (request.stream()) {
        stream = new Stream(ctx, MockMessages.events(request, tokens), tokens.count(), intervalNanos,
            burst(req), keepAlive);
        stream.start();
        return;
      }
      sendJson(ctx, HttpResponseStatus.OK, MockMessages.message(request, tokens), keepAlive);
    }

    private static long tokenInterval(FullHttpRequest req, Options options) throws BadRequest {
      String value = req.headers().get(TOKEN_INTERVAL_HEADER);
      if (value == null) {
        return options.tokenInterval().toNanos();
      }
      long millis;
      try {
        millis = Long.parseLong(value.strip());
      } catch (NumberFormatException e) {
        millis = -1;
      }
      if (millis < 0 || millis > MAX_TOKEN_INTERVAL_MS) {
        throw new BadRequest("Header '" + TOKEN_INTERVAL_HEADER + "' must be an integer from 0 to "
            + MAX_TOKEN_INTERVAL_MS + " (milliseconds).", null, "invalid_value");
      }
      return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    private static ChatRequest parse(ByteBuf content, long intervalNanos) throws BadRequest {
      JsonNode body;
      // ByteBufInputStream does not release the buffer; the request (and so its content) is
      // released by SimpleChannelInboundHandler after channelRead0.
      try (ByteBufInputStream in = new ByteBufInputStream(content)) {
        body = JSON.readTree(in);
      } catch (IOException e) {
        throw new BadRequest("We could not parse the JSON body of your request: "
            + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()),
            null, "invalid_json");
      }
      if (body == null || !body.isObject()) {
        throw new BadRequest("The request body must be a JSON object.", null, "invalid_json");
      }
      JsonNode modelNode = body.get("model");
      String model = MODEL_ID;
      if (modelNode != null && !modelNode.isNull()) {
        if (!modelNode.isTextual()) {
          throw new BadRequest("'model' must be a string.", "model", "invalid_type");
        }
        if (!modelNode.asText().isBlank()) {
          model = modelNode.asText();
        }
      }
      JsonNode messages = body.get("messages");
      if (messages == null || !messages.isArray()) {
        throw new BadRequest("'messages' is required and must be an array.", "messages",
            messages == null ? "missing_required_parameter" : "invalid_type");
      }
      boolean stream = bool(body.get("stream"), "stream");
      JsonNode streamOptions = body.get("stream_options");
      boolean includeUsage = false;
      if (streamOptions != null && !streamOptions.isNull()) {
        if (!streamOptions.isObject()) {
          throw new BadRequest("'stream_options' must be an object.", "stream_options", "invalid_type");
        }
        includeUsage = bool(streamOptions.get("include_usage"), "stream_options.include_usage");
      }
      // max_completion_tokens is the newer name for the same limit; honour whichever is smaller.
      Integer maxTokens = positiveInt(body.get("max_tokens"), "max_tokens");
      Integer maxCompletion = positiveInt(body.get("max_completion_tokens"), "max_completion_tokens");
      if (maxTokens == null || (maxCompletion != null && maxCompletion < maxTokens)) {
        maxTokens = maxCompletion;
      }
      return new ChatRequest(model, stream, stream && includeUsage, maxTokens, countWords(messages),
          intervalNanos);
    }

    private static boolean bool(JsonNode node, String param) throws BadRequest {
      if (node == null || node.isNull()) {
        return false;
      }
      if (!node.isBoolean()) {
        throw new BadRequest("'" + param + "' must be a boolean.", param, "invalid_type");
      }
      return node.booleanValue();
    }

    private static Integer positiveInt(JsonNode node, String param) throws BadRequest {
      if (node == null || node.isNull()) {
        return null;
      }
      if (!node.canConvertToInt() || !node.isIntegralNumber() || node.intValue() < 1) {
        throw new BadRequest("'" + param + "' must be an integer >= 1.", param, "invalid_value");
      }
      return node.intValue();
    }

    private static ObjectNode usage(int promptTokens, int completionTokens) {
      return JSON.createObjectNode()
          .put("prompt_tokens", promptTokens)
          .put("completion_tokens", completionTokens)
          .put("total_tokens", promptTokens + completionTokens);
    }

    private static ObjectNode models() {
      ObjectNode body = JSON.createObjectNode().put("object", "list");
      body.putArray("data").addObject()
          .put("id", MODEL_ID)
          .put("object", "model")
          .put("created", 0)
          .put("owned_by", "sluice");
      return body;
    }

    private void sendJson(ChannelHandlerContext ctx, HttpResponseStatus status, JsonNode body,
        boolean keepAlive) {
      send(ctx, jsonResponse(status, body), keepAlive);
    }

    private void sendError(ChannelHandlerContext ctx, HttpResponseStatus status, String message,
        String type, String param, String code, boolean keepAlive) {
      send(ctx, errorResponse(status, message, type, param, code), keepAlive);
    }

    private static FullHttpResponse errorResponse(HttpResponseStatus status, String message,
        String type, String param, String code) {
      ObjectNode body = JSON.createObjectNode();
      body.putObject("error")
          .put("message", message)
          .put("type", type)
          .put("param", param)
          .put("code", code);
      return jsonResponse(status, body);
    }

    private static FullHttpResponse jsonResponse(HttpResponseStatus status, JsonNode body) {
      // Serialise before allocating, so a (theoretical) serialisation failure cannot leak a buffer.
      byte[] bytes = toBytes(body);
      FullHttpResponse res = new DefaultFullHttpResponse(HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
      res.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
      return res;
    }

    private void send(ChannelHandlerContext ctx, FullHttpResponse res, boolean keepAlive) {
      HttpUtil.setKeepAlive(res, keepAlive);
      ChannelFuture f = ctx.writeAndFlush(res);
      if (keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
      } else {
        closing = true;
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }

    private static byte[] toBytes(JsonNode node) {
      try {
        return JSON.writeValueAsBytes(node);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("cannot serialise a JSON tree", e);
      }
    }

    /** Runs the requests that were pipelined behind a finished stream. */
    private void drainPending(ChannelHandlerContext ctx) {
      FullHttpRequest next;
      while (stream == null && !closing && (next = pending.poll()) != null) {
        try {
          dispatch(ctx, next);
        } finally {
          next.release();
        }
      }
      if (closing) {
        releasePending();
      }
    }

    private void releasePending() {
      FullHttpRequest req;
      while ((req = pending.poll()) != null) {
        req.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      // The client went away: stop the pacing timer so nothing keeps running for a dead connection.
      if (stream != null) {
        stream.cancel();
      }
      releasePending();
      super.channelInactive(ctx);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
      if (stream != null && ctx.channel().isWritable()) {
        stream.resume();
      }
      super.channelWritabilityChanged(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      if (stream != null) {
        stream.cancel();
      }
      releasePending();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("mock model server connection {} failed", ctx.channel().remoteAddress(), cause);
      ctx.close();
    }

    /**
     * One streamed answer: the opening events, one event per token on the event loop's timer (or,
     * unpaced, as fast as the connection stays writable), then the closing events; what each event
     * says is the API's ({@link MockEvents}). All methods run on the connection's event loop, so no
     * synchronisation is needed.
     */
    private final class Stream implements Runnable {
      private final ChannelHandlerContext ctx;
      private final MockEvents events;
      private final int count;
      private final long intervalNanos;
      private final boolean burst; // unpaced, flushed per batch
      private final boolean keepAlive;
      private int next;
      private ScheduledFuture<?> timer;
      private boolean done;
      // Unpaced only: the connection was not writable, channelWritabilityChanged resumes.
      private boolean awaitingWritable;

      Stream(ChannelHandlerContext ctx, MockEvents events, int count, long intervalNanos, boolean burst,
          boolean keepAlive) {
        this.ctx = ctx;
        this.events = events;
        this.count = count;
        this.intervalNanos = intervalNanos;
        this.burst = burst && intervalNanos == 0;
        this.keepAlive = keepAlive;
      }

      void start() {
        activeStreams.incrementAndGet();
        HttpResponse head = new DefaultHttpResponse(HTTP_1_1, HttpResponseStatus.OK);
        head.headers()
            .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
            .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        HttpUtil.setTransferEncodingChunked(head, true);
        HttpUtil.setKeepAlive(head, keepAlive);
        ctx.write(head).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        for (byte[] event : events.opening()) {
          write(Unpooled.wrappedBuffer(event));
        }
        schedule();
      }

      private void schedule() {
        if (intervalNanos > 0) {
          timer = ctx.executor().schedule(this, intervalNanos, TimeUnit.NANOSECONDS);
        } else if (ctx.channel().isWritable()) {
          ctx.executor().execute(this);
        } else {
          awaitingWritable = true;
        }
      }

      /** The connection is writable again: go on with an unpaced stream that was waiting. */
      void resume() {
        if (awaitingWritable && !done) {
          awaitingWritable = false;
          run();
        }
      }

      @Override
      public void run() {
        if (done) {
          return;
        }
        if (!ctx.channel().isActive()) {
          cancel();
          return;
        }
        if (next < count) {
          // Paced: one token per timer tick. Unpaced: a batch, while the connection takes it.
          int batch = intervalNanos > 0 ? 1 : UNPACED_BATCH;
          do {
            write(events.token(ctx.alloc(), next++));
          } while (--batch > 0 && next < count && ctx.channel().isWritable());
          if (burst) {
            ctx.flush(); // the batch leaves together
          }
          if (next < count) {
            schedule();
            return;
          }
        }
        // The end, right after the last token, as the model servers send it: every closing event
        // flushed but the last, which goes out with the response's end.
        List<byte[]> ends = events.closing();
        for (int i = 0; i < ends.size(); i++) {
          DefaultHttpContent event = new DefaultHttpContent(Unpooled.wrappedBuffer(ends.get(i)));
          if (i < ends.size() - 1) {
            ctx.writeAndFlush(event).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
          } else {
            ctx.write(event);
          }
        }
        // Counted as finished before the last write: with "Connection: close" the socket may close
        // inside writeAndFlush, and a client that sees the end must see the stream ended too.
        finish();
        ChannelFuture last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        if (keepAlive) {
          last.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        } else {
          closing = true;
          last.addListener(ChannelFutureListener.CLOSE);
        }
        drainPending(ctx);
      }

      /** Stops the timer (client gone or server closing); the response is simply abandoned. */
      void cancel() {
        if (timer != null) {
          timer.cancel(false);
        }
        finish();
      }

      private void finish() {
        if (!done) {
          done = true;
          activeStreams.decrementAndGet();
          if (stream == this) {
            stream = null;
          }
        }
      }

      /**
       * Writes one SSE event, flushed on its own (each token leaves the server by itself) unless
       * the request asked for a burst. No writability check: a whole reply is a few KiB, so
       * buffering it for a slow reader is harmless.
       */
      private void write(ByteBuf event) {
        DefaultHttpContent content = new DefaultHttpContent(event);
        (burst ? ctx.write(content) : ctx.writeAndFlush(content)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
      }
    }
  }

  /**
   * A streamed chat completion's chunks, as OpenAI sends them: the role chunk, one chunk per
   * token, the finish chunk, the usage chunk when the request asked for it, and {@code [DONE]}.
   */
  private static final class ChatEvents implements MockEvents {
    private final String id;
    private final long created;
    private final ChatRequest chat;
    private final Tokens tokens;
    private MockEvents.TokenTemplate tokenTemplate;

    ChatEvents(String id, long created, ChatRequest chat, Tokens tokens) {
      this.id = id;
      this.created = created;
      this.chat = chat;
      this.tokens = tokens;
    }

    @Override
    public List<byte[]> opening() {
      return List.of(event(chunk(JSON.createObjectNode().put("role", "assistant").put("content", ""), null)));
    }

    @Override
    public ByteBuf token(ByteBufAllocator alloc, int i) {
      if (tokenTemplate == null) {
        tokenTemplate = MockEvents.TokenTemplate.of(new String(event(chunk(
            JSON.createObjectNode().put("content", MockEvents.TokenTemplate.MARKER), null)), UTF_8), tokens);
      }
      return tokenTemplate.event(alloc, i);
    }

    @Override
    public List<byte[]> closing() {
      List<byte[]> events = new ArrayList<>(3);
      events.add(event(chunk(JSON.createObjectNode(), tokens.finishReason())));
      if (chat.includeUsage()) {
        ObjectNode usageChunk = header();
        usageChunk.putArray("choices");
        usageChunk.set("usage", Handler.usage(chat.promptTokens(), tokens.count()));
        events.add(event(usageChunk));
      }
      events.add("data: [DONE]\n\n".getBytes(UTF_8));
      return events;
    }

    private ObjectNode header() {
      return JSON.createObjectNode()
          .put("id", id)
          .put("object", "chat.completion.chunk")
          .put("created", created)
          .put("model", chat.model());
    }

    private ObjectNode chunk(ObjectNode delta, String finish) {
      ObjectNode chunk = header();
      ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
      choice.set("delta", delta);
      choice.putNull("logprobs");
      choice.put("finish_reason", finish);
      if (chat.includeUsage()) {
        // OpenAI: with include_usage, every other chunk carries "usage": null.
        chunk.putNull("usage");
      }
      return chunk;
    }

    private static byte[] event(JsonNode data) {
      return ("data: " + new String(Handler.toBytes(data), UTF_8) + "\n\n").getBytes(UTF_8);
    }
  }
}
