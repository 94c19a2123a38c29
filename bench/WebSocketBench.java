// Sluice WebSocket measurements (issue 8): memory per idle session and frame relay throughput.
// A single-file Java program on the gateway jar's Netty; it starts the gateway jar as a child
// process in front of an in-process raw-frame upstream, then measures.
//
//   java -cp gateway-server/target/gateway.jar bench/WebSocketBench.java [--sessions 2000] [--seconds 5]
//
// Memory: forces a GC in the gateway (jcmd GC.run), reads its heap (jcmd GC.heap_info) and RSS
// (/proc/PID/status), opens N idle sessions (client and upstream legs both here), measures again:
// the difference divided by N. Throughput: one session, frames of 1 KiB and 64 KiB written as fast
// as the connection takes them (writes only while writable), each direction in turn; counted
// where they arrive. Prints one JSON line per result.

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class WebSocketBench {
  static final EventLoopGroup UP = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  static final EventLoopGroup CLIENTS = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  static final ConcurrentLinkedQueue<Channel> upstreamSessions = new ConcurrentLinkedQueue<>();
  static final AtomicLong upstreamReceived = new AtomicLong();

  public static void main(String[] args) throws Exception {
    int sessions = 2000;
    int seconds = 5;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--sessions" -> sessions = Integer.parseInt(args[++i]);
        case "--seconds" -> seconds = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Channel upstream = startUpstream();
    int upPort = ((InetSocketAddress) upstream.localAddress()).getPort();
    int gwPort = 19180;
    Path dir = Files.createTempDirectory("sluice-ws-bench");
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, """
        listeners: [ { name: public, host: 127.0.0.1, port: %d } ]
        admin: { host: 127.0.0.1, port: 19181 }
        upstreams: [ { name: rt, endpoints: [ { url: "http://127.0.0.1:%d" } ], max-connections-per-endpoint: 100000 } ]
        routes:
          - name: realtime
            match: { path-prefix: /v1/realtime }
            upstream: rt
            websocket: { enabled: true, max-frame-size: 1MiB, ping-interval: 30s, idle-timeout: 10m }
        """.formatted(gwPort, upPort));
    String jar = System.getProperty("java.class.path").split(File.pathSeparator)[0];
    Process gw = new ProcessBuilder("java", "-Xms256m", "-Xmx512m", "-jar", jar, "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("gateway.log").toFile()).start();
    Runtime.getRuntime().addShutdownHook(new Thread(gw::destroy));
    try {
      awaitUp(gwPort);
      // Warm-up: some sessions and frames, so the measurement does not count class loading.
      throughput(gwPort, 1024, 1, true);
      List<Channel> warm = open(gwPort, 200);
      closeAll(warm);
      Thread.sleep(1000);

      long heap0 = heapUsed(gw.pid());
      long rss0 = rss(gw.pid());
      List<Channel> clients = open(gwPort, sessions);
      Thread.sleep(1000);
      long heap1 = heapUsed(gw.pid());
      long rss1 = rss(gw.pid());
      System.out.printf("{\"result\":\"idle-sessions\",\"sessions\":%d,\"heap_bytes_per_session\":%d,"
          + "\"rss_bytes_per_session\":%d,\"heap_before\":%d,\"heap_after\":%d,\"rss_before\":%d,\"rss_after\":%d}%n",
          sessions, (heap1 - heap0) / sessions, (rss1 - rss0) / sessions, heap0, heap1, rss0, rss1);
      closeAll(clients);

      for (int size : new int[] {1024, 64 * 1024}) {
        throughput(gwPort, size, seconds, false);
      }
    } finally {
      gw.destroy();
      gw.waitFor(10, TimeUnit.SECONDS);
      UP.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      CLIENTS.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  static WebSocketDecoderConfig raw(boolean masked) {
    return WebSocketDecoderConfig.newBuilder().maxFramePayloadLength(1 << 20).expectMaskedFrames(masked)
        .allowExtensions(true).withUTF8Validator(false).build();
  }

  /** Accepts every upgrade; counts what arrives; keeps the channel so a test can send from it. */
  static Channel startUpstream() throws InterruptedException {
    return new ServerBootstrap().group(UP).channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast("codec", new HttpServerCodec()).addLast("agg", new HttpObjectAggregator(65536))
                .addLast("h", new ChannelInboundHandlerAdapter() {
                  @Override
                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof WebSocketFrame f) {
                      upstreamReceived.addAndGet(f.content().readableBytes());
                      f.release();
                      return;
                    }
                    if (msg instanceof FullHttpRequest req) {
                      FullHttpResponse ok = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                          HttpResponseStatus.SWITCHING_PROTOCOLS);
                      ok.headers().set("upgrade", "websocket").set("connection", "Upgrade")
                          .set("sec-websocket-accept", accept(req.headers().get("sec-websocket-key")));
                      req.release();
                      ctx.pipeline().remove("agg");
                      ctx.pipeline().addBefore("codec", "enc", new WebSocket08FrameEncoder(false));
                      ctx.pipeline().addBefore("codec", "dec", new WebSocket08FrameDecoder(raw(true)));
                      ctx.writeAndFlush(ok).addListener(x -> ctx.pipeline().remove("codec"));
                      upstreamSessions.add(ctx.channel());
                      return;
                    }
                    ReferenceCountUtil.release(msg);
                  }
                });
          }
        }).bind("127.0.0.1", 0).sync().channel();
  }

  static String accept(String key) {
    try {
      return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
          .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes()));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Opens {@code n} sessions through the gateway, each upgraded; returns the client channels. */
  static List<Channel> open(int port, int n) throws Exception {
    List<Channel> out = new ArrayList<>();
    List<CompletableFuture<Void>> upgraded = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      upgraded.add(done);
      out.add(connect(port, done, null));
      if (i % 100 == 99) {
        CompletableFuture.allOf(upgraded.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      }
    }
    CompletableFuture.allOf(upgraded.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    return out;
  }

  static Channel connect(int port, CompletableFuture<Void> upgraded, AtomicLong received) throws Exception {
    Channel ch = new Bootstrap().group(CLIENTS).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel c) {
            c.pipeline().addLast("codec", new HttpClientCodec()).addLast("agg", new HttpObjectAggregator(65536))
                .addLast("h", new ChannelInboundHandlerAdapter() {
                  @Override
                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof WebSocketFrame f) {
                      if (received != null) {
                        received.addAndGet(f.content().readableBytes());
                      }
                      f.release();
                      return;
                    }
                    if (msg instanceof FullHttpResponse r) {
                      int status = r.status().code();
                      r.release();
                      if (status != 101) {
                        upgraded.completeExceptionally(new IllegalStateException("status " + status));
                        return;
                      }
                      ctx.pipeline().remove("agg");
                      ctx.pipeline().addAfter("codec", "dec", new WebSocket08FrameDecoder(raw(false)));
                      ctx.pipeline().addAfter("codec", "enc", new WebSocket08FrameEncoder(true));
                      HttpClientCodec codec = ctx.pipeline().get(HttpClientCodec.class);
                      codec.removeOutboundHandler();
                      ctx.channel().eventLoop().execute(() -> ctx.pipeline().remove(codec));
                      upgraded.complete(null);
                      return;
                    }
                    ReferenceCountUtil.release(msg);
                  }
                });
          }
        }).connect("127.0.0.1", port).sync().channel();
    FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v1/realtime");
    req.headers().set("host", "127.0.0.1").set("upgrade", "websocket").set("connection", "Upgrade")
        .set("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").set("sec-websocket-version", "13");
    ch.writeAndFlush(req);
    return ch;
  }

  static void closeAll(List<Channel> channels) {
    channels.forEach(Channel::close);
    channels.forEach(c -> c.closeFuture().awaitUninterruptibly());
    upstreamSessions.clear();
  }

  /** One session; frames of {@code size} for {@code seconds}, client to upstream, then back. */
  static void throughput(int port, int size, int seconds, boolean quiet) throws Exception {
    upstreamSessions.clear();
    AtomicLong clientReceived = new AtomicLong();
    CompletableFuture<Void> up = new CompletableFuture<>();
    Channel client = connect(port, up, clientReceived);
    up.get(10, TimeUnit.SECONDS);
    while (upstreamSessions.isEmpty()) {
      Thread.sleep(1);
    }
    Channel upstreamSide = upstreamSessions.poll();
    report("client-to-upstream", size, seconds, quiet, client, upstreamReceived);
    report("upstream-to-client", size, seconds, quiet, upstreamSide, clientReceived);
    client.close().sync();
  }

  static void report(String direction, int size, int seconds, boolean quiet, Channel sender, AtomicLong counter)
      throws Exception {
    byte[] payload = new byte[size];
    long start = counter.get();
    long t0 = System.nanoTime();
    long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
    Runnable[] pump = new Runnable[1];
    pump[0] = () -> {
      int n = 0;
      while (sender.isWritable() && System.nanoTime() < end && n++ < 256) {
        sender.write(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(payload)));
      }
      sender.flush();
      if (System.nanoTime() < end) {
        sender.eventLoop().schedule(pump[0], sender.isWritable() ? 0 : 50, TimeUnit.MICROSECONDS);
      }
    };
    sender.eventLoop().execute(pump[0]);
    Thread.sleep(TimeUnit.NANOSECONDS.toMillis(end - t0));
    long bytes = counter.get() - start;
    double secs = (System.nanoTime() - t0) / 1e9;
    Thread.sleep(300); // let the queued frames drain before the next measurement
    if (!quiet) {
      System.out.printf("{\"result\":\"throughput\",\"direction\":\"%s\",\"frame_bytes\":%d,\"frames_per_s\":%.0f,"
          + "\"mib_per_s\":%.1f}%n", direction, size, bytes / (double) size / secs, bytes / secs / (1 << 20));
    }
  }

  static void awaitUp(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("the gateway did not start");
  }

  static String jcmd(long pid, String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("jcmd", Long.toString(pid)));
    cmd.addAll(List.of(command));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    return out;
  }

  /** Heap used after a full GC, in bytes (from jcmd GC.heap_info's "used" figure, in K). */
  static long heapUsed(long pid) throws Exception {
    jcmd(pid, "GC.run");
    Thread.sleep(500);
    jcmd(pid, "GC.run");
    String info = jcmd(pid, "GC.heap_info");
    Matcher m = Pattern.compile("used (\\d+)K").matcher(info);
    if (!m.find()) {
      throw new IllegalStateException("no heap figure in: " + info);
    }
    return Long.parseLong(m.group(1)) * 1024;
  }

  static long rss(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS");
  }
}
