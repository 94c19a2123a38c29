// Sluice benchmark load generator: a single-file Java program that runs on the gateway jar's Netty.
//
//   java -cp gateway-server/target/gateway.jar bench/LoadClient.java --mode throughput \
//        --url http://127.0.0.1:19101/v1/chat/completions --concurrency 64 --duration 10 --tokens 100
//
// Modes (every stream is one keep-alive connection doing streamed chat completions back to back):
//   throughput  N concurrent unpaced streams for --duration seconds: events/s, requests/s
//   latency     N concurrent streams paced --interval-ms apart for --duration seconds: per request
//               TTFT (request written -> first content event) and the gaps between content events,
//               p50/p99/max. The streams start spread evenly over one interval.
//   held        opens N slow streams (one token every --interval-ms), prints a JSON line once every
//               stream has its first event, keeps them open for --hold seconds, then closes them
// Output: one JSON line on stdout per result (held: "established", then "closed"); progress and
// errors go to stderr. Only one event-loop thread: thousands of connections cost it little.
//
// Variants (any mode):
//   --tls (or an https:// URL)  TLS 1.3 with ALPN http/1.1 (OpenSSL/BoringSSL from the jar when it
//               loads, else the JDK); the server's certificate is not checked (loopback only)
//   --gzip      sends Accept-Encoding: gzip and inflates the responses (HttpContentDecompressor)
//               before events are counted, so events and TTFT are those of the decoded stream
//   --header    an extra request header, e.g. "Authorization: Bearer <jwt>" (repeatable)
//   --prompt-bytes N  the user message is N bytes of English-like prose (fixed seed) instead of the
//               one-line default, for real prompt sizes (a system prompt and history: 2-50 KB)
//   --report-every S  (throughput, latency) also prints one JSON line per S-second window from the
//               start of the load ("phase":"window", before the usual result line): requests/s
//               and the proxy's CPU per window, to watch a fresh JVM warm up (bench/run's warmup)
// Every result also says how many bytes of HTTP (after TLS, before gzip is decoded) arrived per
// event in the window ("wire_bytes_per_event") and how many responses were gzip-encoded. With
// --cpu-pids and --proxy-core N it says how busy core N was and how much of it other processes
// than the proxy took ("proxy_core_others", in cores): a starved proxy's figures are not its own.
//
// The first content event is the second SSE event of a response: the mock model server (and
// OpenAI) send a role-only chunk first. Times are taken when a read delivers the bytes, so events
// that arrive in one read share a time.

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import javax.net.ssl.SSLSession;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class LoadClient {

  // ---- options ----
  static String mode = "throughput";
  static String extraHeaders = "";
  static String host = "127.0.0.1";
  static int port = 19100;
  static String path = "/v1/chat/completions";
  static int concurrency = 64;
  static double durationSec = 10;
  static int tokens = 100;
  static int promptBytes = 0; // 0: the short default message; else a user message of this many bytes
  static int intervalMs = 0;
  static double holdSec = 10;
  static int ramp = 256; // held/latency: connections being opened at once
  static String label = "";
  static double warmupSec = 0;
  static String cpuPids = ""; // comma-separated: proxy processes whose CPU time the window costs
  static int clkTck = 100;
  static boolean tls;
  static boolean gzip;
  static int proxyCore = -1; // the core the proxy is pinned to: how busy it was, and with what
  static double reportEverySec = 0; // > 0: one "window" line per this many seconds of the load

  // ---- state (event loop thread only, but for the final read after the latch) ----
  static EventLoopGroup group;
  static Bootstrap bootstrap;
  static byte[] request;
  static long startNanos;
  static long deadlineNanos;
  static long requests;
  static long events;
  static long contentEvents;
  static long errors;
  static long connects;
  static String firstError;
  static LongList ttfts = new LongList();
  static LongList gaps = new LongList();
  static int established;
  static int live;
  static int opened;
  static CountDownLatch allDone;
  static CountDownLatch allEstablished;
  static long establishedNanos;
  static long measureStartNanos;
  static boolean shuttingDown;
  static boolean measuring;
  static long[] windowStart; // time, requests, events, contentEvents, errors, cpu ticks, wire bytes, gzip responses
  static long[] windowEnd;
  static long wireBytes; // HTTP bytes received (after TLS, before gzip decoding), all the run
  static long gzipResponses; // responses that came with Content-Encoding: gzip, all the run
  static SslContext sslContext;
  static String tlsSession; // "TLSv1.3 TLS_AES_128_GCM_SHA256 OPENSSL" of the first handshake

  public static void main(String[] args) throws Exception {
    parse(args);
    IoHandlerFactory io;
    Class<? extends SocketChannel> channelClass;
    if (Epoll.isAvailable()) {
      io = EpollIoHandler.newFactory();
      channelClass = EpollSocketChannel.class;
    } else {
      io = NioIoHandler.newFactory();
      channelClass = NioSocketChannel.class;
    }
    group = new MultiThreadIoEventLoopGroup(1, io);
    if (tls) {
      // TLS 1.3 only and ALPN http/1.1 only: the proxies all offer h2 too, but this client (and
      // the scenario) is HTTP/1.1, like the plain one, so the only difference is the encryption.
      SslProvider provider = SslProvider.isAlpnSupported(SslProvider.OPENSSL) ? SslProvider.OPENSSL : SslProvider.JDK;
      sslContext = SslContextBuilder.forClient()
          .sslProvider(provider)
          .trustManager(InsecureTrustManagerFactory.INSTANCE) // loopback, self-signed: nothing to verify
          .protocols("TLSv1.3")
          .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
              ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_1_1))
          .build();
    }
    String content = promptBytes > 0 ? promptText(promptBytes) : "Tell me a story about a river.";
    String body = "{\"model\":\"sluice-mock-1\",\"stream\":true,\"max_tokens\":" + tokens
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
    String head = "POST " + path + " HTTP/1.1\r\n"
        + "Host: " + host + ":" + port + "\r\n"
        + "Content-Type: application/json\r\n"
        + "Accept: text/event-stream\r\n"
        + "x-mock-token-interval-ms: " + intervalMs + "\r\n"
        + (gzip ? "Accept-Encoding: gzip\r\n" : "")
        + extraHeaders
        + "Content-Length: " + bodyBytes.length + "\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
    request = Arrays.copyOf(headBytes, headBytes.length + bodyBytes.length);
    System.arraycopy(bodyBytes, 0, request, headBytes.length, bodyBytes.length);

    bootstrap = new Bootstrap().group(group).channel(channelClass)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            // The request is written as raw bytes ahead of the codec's encoder; only the decoder
            // side of the codec is used (chunked transfer, keep-alive framing).
            ChannelPipeline p = ch.pipeline();
            if (sslContext != null) {
              SslHandler ssl = sslContext.newHandler(ch.alloc(), host, port);
              ssl.handshakeFuture().addListener(f -> {
                if (f.isSuccess() && tlsSession == null) {
                  SSLSession s = ssl.engine().getSession();
                  tlsSession = s.getProtocol() + " " + s.getCipherSuite() + " "
                      + (ssl.engine().getClass().getSimpleName().contains("OpenSsl") ? "OPENSSL" : "JDK");
                }
              });
              p.addLast(ssl);
            }
            p.addLast("wire", new WireCounter()).addLast(new HttpClientCodec(4096, 16384, 65536));
            if (gzip) {
              p.addLast(new EncodingCounter()).addLast(new HttpContentDecompressor(0));
            }
            p.addLast(new StreamHandler());
          }
        });
    allDone = new CountDownLatch(concurrency);
    allEstablished = new CountDownLatch(concurrency);
    startNanos = System.nanoTime();
    measureStartNanos = startNanos + (long) (warmupSec * 1e9);
    deadlineNanos = mode.equals("held") ? Long.MAX_VALUE : measureStartNanos + (long) (durationSec * 1e9);
    int code = 0;
    try {
      group.execute(LoadClient::openMore);
      if (!mode.equals("held")) {
        // The measured window: [warm-up end, deadline). Requests still running at the deadline
        // finish, uncounted; the proxy's CPU time is read at both ends of the window.
        group.schedule(() -> {
          measuring = true;
          windowStart = snapshot();
        }, measureStartNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        group.schedule(() -> {
          measuring = false;
          windowEnd = snapshot();
        }, deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (reportEverySec > 0) {
          scheduleWindows();
        }
      }
      switch (mode) {
        case "throughput", "latency" -> {
          // In-flight requests finish after the deadline; give them a bounded grace period.
          long waitMs = (long) ((warmupSec + durationSec) * 1000) + 60_000 + (long) tokens * intervalMs;
          if (!allDone.await(waitMs, TimeUnit.MILLISECONDS)) {
            System.err.println("LoadClient: streams did not finish in time");
            code = 1;
          }
          group.submit(() -> print(result())).sync();
        }
        case "held" -> {
          long waitMs = 120_000 + (long) concurrency * 20;
          boolean ok = allEstablished.await(waitMs, TimeUnit.MILLISECONDS);
          group.submit(() -> {
            Map<String, Object> r = base();
            r.put("phase", "established");
            r.put("streams", established);
            r.put("requested", concurrency);
            r.put("seconds_to_establish", round((establishedNanos - startNanos) / 1e9, 3));
            r.put("errors", errors);
            if (firstError != null) {
              r.put("first_error", firstError);
            }
            print(r);
          }).sync();
          if (!ok) {
            code = 1;
          }
          Thread.sleep((long) (holdSec * 1000));
          group.submit(() -> {
            Map<String, Object> r = base();
            r.put("phase", "closed");
            r.put("streams_open_at_end", live);
            r.put("errors", errors);
            print(r);
            shuttingDown = true;
          }).sync();
        }
        default -> throw new IllegalArgumentException("unknown mode " + mode);
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
    System.exit(code);
  }

  static void parse(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--mode" -> mode = v;
        case "--header" -> extraHeaders += v + "\r\n"; // e.g. an API key for a route with auth plugins
        case "--tls" -> {
          tls = true;
          continue; // a flag: no value
        }
        case "--gzip" -> {
          gzip = true;
          continue;
        }
        case "--url" -> {
          URI u = URI.create(v);
          host = u.getHost();
          tls |= "https".equals(u.getScheme());
          port = u.getPort() > 0 ? u.getPort() : tls ? 443 : 80;
          path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        }
        case "--concurrency", "-c" -> concurrency = Integer.parseInt(v);
        case "--duration" -> durationSec = Double.parseDouble(v);
        case "--tokens" -> tokens = Integer.parseInt(v);
        case "--prompt-bytes" -> promptBytes = Integer.parseInt(v);
        case "--interval-ms" -> intervalMs = Integer.parseInt(v);
        case "--hold" -> holdSec = Double.parseDouble(v);
        case "--ramp" -> ramp = Integer.parseInt(v);
        case "--label" -> label = v;
        case "--warmup" -> warmupSec = Double.parseDouble(v);
        case "--cpu-pids" -> cpuPids = v;
        case "--clk-tck" -> clkTck = Integer.parseInt(v);
        case "--proxy-core" -> proxyCore = Integer.parseInt(v);
        case "--report-every" -> reportEverySec = Double.parseDouble(v);
        case "--help", "-h" -> {
          System.out.println("usage: LoadClient --mode throughput|latency|held --url URL [--concurrency N]"
              + " [--duration S] [--warmup S] [--tokens T] [--prompt-bytes N] [--interval-ms I] [--hold S] [--ramp N]"
              + " [--cpu-pids PID,PID] [--proxy-core N] [--clk-tck HZ] [--label L] [--tls] [--gzip]"
              + " [--header 'Name: value'] [--report-every S]");
          System.exit(0);
        }
        default -> {
          System.err.println("LoadClient: unknown argument " + a);
          System.exit(2);
        }
      }
      i++;
    }
    if (!host.startsWith("127.") && !host.equals("localhost") && !host.equals("[::1]") && !host.equals("::1")) {
      System.err.println("LoadClient: only loopback targets are allowed, not " + host);
      System.exit(2);
    }
  }

  /** Opens streams up to the concurrency, at most {@link #ramp} of them not yet established. */
  static void openMore() {
    if (mode.equals("latency") && intervalMs > 0) {
      // Paced streams start spread over one token interval: started together, every stream's
      // timer would fire in the same millisecond and the load would come in bursts of N events.
      if (opened == 0) {
        long step = TimeUnit.MILLISECONDS.toNanos(intervalMs) / concurrency;
        for (int i = 0; i < concurrency; i++) {
          opened++;
          group.schedule(() -> connect(null), i * step, TimeUnit.NANOSECONDS);
        }
      }
      return;
    }
    while (opened < concurrency && opened - established < ramp) {
      opened++;
      connect(null);
    }
  }

  static void connect(StreamHandler previous) {
    connects++;
    bootstrap.connect(host, port).addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        error("connect: " + f.cause());
        // Retry after a pause unless the run is over.
        if (System.nanoTime() < deadlineNanos) {
          group.schedule(() -> connect(previous), 100, TimeUnit.MILLISECONDS);
        } else {
          streamFinished();
        }
      }
    });
  }

  static void error(String what) {
    if (shuttingDown) {
      return; // held: our own close at the end
    }
    if (measuring || mode.equals("held") || windowStart == null) {
      errors++;
    }
    if (firstError == null) {
      firstError = what;
      System.err.println("LoadClient: " + what);
    }
  }

  static int doneStreams;

  static void streamFinished() {
    doneStreams++;
    allDone.countDown();
  }

  /** One stream: one connection, requests back to back until the deadline. */
  static final class StreamHandler extends SimpleChannelInboundHandler<HttpObject> {
    boolean counted; // established counted for this stream (held/latency ramp)
    boolean inResponse;
    boolean ok;
    boolean finished;
    boolean keepAlive;
    int eventIndex;
    byte previous;
    long sentNanos;
    long lastContentNanos;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      live++;
      send(ctx);
    }

    void send(ChannelHandlerContext ctx) {
      inResponse = true;
      ok = false;
      eventIndex = 0;
      previous = 0;
      sentNanos = System.nanoTime();
      // Written below the codec (from the wire counter's context: through TLS when it is on, then
      // to the socket): the prebuilt bytes need no encoding. The decoder needs no note of it: the
      // method only matters for HEAD.
      ctx.pipeline().context("wire").writeAndFlush(Unpooled.wrappedBuffer(request));
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      long now = System.nanoTime();
      if (msg instanceof HttpResponse res) {
        ok = res.status().code() == 200;
        keepAlive = HttpUtil.isKeepAlive(res);
        if (!ok) {
          error("HTTP " + res.status().code());
        }
      }
      if (msg instanceof HttpContent content && ok) {
        ByteBuf buf = content.content();
        for (int i = buf.readerIndex(), end = buf.writerIndex(); i < end; i++) {
          byte b = buf.getByte(i);
          if (b == '\n' && previous == '\n') {
            onEvent(ctx, now);
          }
          previous = b;
        }
      }
      if (msg instanceof LastHttpContent) {
        inResponse = false;
        // Counted all the time: every figure is a difference between two snapshots (the
        // measured window, or each --report-every window from the start of the load).
        if (ok) {
          requests++;
        }
        if (System.nanoTime() < deadlineNanos && keepAlive) {
          send(ctx);
        } else {
          finished = true;
          ctx.close();
        }
      }
    }

    void onEvent(ChannelHandlerContext ctx, long now) {
      events++;
      if (eventIndex == 0 && !counted) {
        counted = true;
        established++;
        allEstablished.countDown();
        if (established == concurrency) {
          establishedNanos = now;
        }
        group.execute(LoadClient::openMore);
      }
      if (eventIndex >= 1 && eventIndex <= tokens) {
        contentEvents++;
        if (measuring && mode.equals("latency")) {
          if (eventIndex == 1) {
            ttfts.add((now - sentNanos) / 1000);
          } else {
            gaps.add((now - lastContentNanos) / 1000);
          }
        }
        lastContentNanos = now;
      }
      eventIndex++;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      live--;
      if (!finished) {
        if (inResponse) {
          error("connection closed mid-response");
        }
        if (System.nanoTime() < deadlineNanos && !mode.equals("held")) {
          connect(this);
          return;
        }
      }
      if (!mode.equals("held")) {
        streamFinished();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      error("exception: " + cause);
      ctx.close();
    }
  }

  /** Counts the HTTP bytes that arrive (decrypted when TLS is on, still gzip-encoded when it is). */
  static final class WireCounter extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf b) {
        wireBytes += b.readableBytes();
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** Notes gzip-encoded responses before the decompressor rewrites their headers. */
  static final class EncodingCounter extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpResponse res && res.headers().containsValue(HttpHeaderNames.CONTENT_ENCODING, "gzip", true)) {
        gzipResponses++;
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * A user message of exactly {@code n} bytes of English-like prose (ASCII, nothing to escape in
   * JSON): sentences of common words drawn with a fixed seed, so every run sends the same text and
   * the tokenizer sees words, spaces and punctuation in realistic proportions (~4-5 bytes a token),
   * as a system prompt or a chat history would have.
   */
  static String promptText(int n) {
    String[] words = ("the a of to and in is it that for on with as was at by this be from or an are "
        + "not have but what all were when we there can your which their said if do will each about how up "
        + "out them then she many some so these would other into has more her two like him see time could "
        + "river water story people city model answer question summary report customer order account "
        + "please explain describe following context document section table previous message assistant "
        + "user request result value should must before after between during without within").split(" ");
    java.util.Random random = new java.util.Random(42);
    StringBuilder b = new StringBuilder(n + 16);
    boolean sentenceStart = true;
    int inSentence = 0;
    while (b.length() < n) {
      String w = words[random.nextInt(words.length)];
      if (sentenceStart) {
        w = Character.toUpperCase(w.charAt(0)) + w.substring(1);
      }
      b.append(w);
      inSentence++;
      sentenceStart = inSentence > 6 && random.nextInt(8) == 0;
      if (sentenceStart) {
        b.append(random.nextInt(5) == 0 ? "? " : ". ");
        inSentence = 0;
      } else {
        b.append(random.nextInt(12) == 0 ? ", " : " ");
      }
    }
    b.setLength(n);
    return b.toString();
  }

  // ---- results ----

  static Map<String, Object> base() {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("mode", mode);
    if (!label.isEmpty()) {
      r.put("label", label);
    }
    r.put("target", host + ":" + port);
    r.put("concurrency", concurrency);
    r.put("tokens", tokens);
    if (promptBytes > 0) {
      r.put("prompt_bytes", promptBytes);
    }
    r.put("interval_ms", intervalMs);
    return r;
  }

  /** The counters and the proxy's CPU ticks (utime + stime of every --cpu-pids process). */
  static long[] snapshot() {
    long[] core = coreTicks();
    return new long[] {System.nanoTime(), requests, events, contentEvents, errors, cpuTicks(), wireBytes, gzipResponses,
        core[0], core[1], jitTicks()};
  }

  /**
   * CPU ticks of the JIT compiler threads of the --cpu-pids processes (a JVM's "C1 CompilerThre…"
   * and "C2 CompilerThre…"; 0 for nginx and HAProxy): part of the proxy's CPU time, reported on
   * its own so a window in which a JVM was still compiling shows as such.
   */
  static long jitTicks() {
    long ticks = 0;
    for (String pid : cpuPids.split(",")) {
      if (pid.isBlank()) {
        continue;
      }
      try (var tasks = Files.newDirectoryStream(Path.of("/proc", pid.strip(), "task"))) {
        for (Path task : tasks) {
          try {
            String stat = Files.readString(task.resolve("stat"));
            String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
              String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
              ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            }
          } catch (Exception e) {
            // a thread that ended between the listing and the read
          }
        }
      } catch (Exception e) {
        return -1;
      }
    }
    return ticks;
  }

  static long cpuTicks() {
    long ticks = 0;
    for (String pid : cpuPids.split(",")) {
      if (pid.isBlank()) {
        continue;
      }
      try {
        String stat = Files.readString(Path.of("/proc", pid.strip(), "stat"));
        // After the ")" that ends the command name: state is field 3, utime 14, stime 15.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
      } catch (Exception e) {
        error("cannot read CPU time of pid " + pid + ": " + e);
        return -1;
      }
    }
    return ticks;
  }

  /**
   * Busy and total ticks of the proxy's core from /proc/stat (busy = everything but idle and
   * iowait), or {-1, -1}. With the proxy's own CPU time this tells whether other processes (a
   * build, a browser) took the proxy's core during the window: then the proxy was starved and the
   * figures are not the proxy's.
   */
  static long[] coreTicks() {
    if (proxyCore < 0) {
      return new long[] {-1, -1};
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
        if (line.startsWith("cpu" + proxyCore + " ")) {
          String[] f = line.trim().split("\\s+");
          long total = 0;
          for (int i = 1; i < f.length && i <= 8; i++) { // user nice system idle iowait irq softirq steal
            total += Long.parseLong(f[i]);
          }
          long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
          return new long[] {total - idle, total};
        }
      }
    } catch (Exception e) {
      error("cannot read /proc/stat: " + e);
    }
    return new long[] {-1, -1};
  }

  /**
   * --report-every: a snapshot every S seconds from the start of the load (a fixed schedule on
   * the client's own event loop, so the windows are as long as asked whatever the proxy does), and
   * one "window" line for each, until the measured window ends. Requests are counted when they
   * complete, CPU when the proxy spends it, as in the result line.
   */
  static void scheduleWindows() {
    long periodNanos = (long) (reportEverySec * 1e9);
    long[][] previous = {snapshot()};
    int[] index = {0};
    group.scheduleAtFixedRate(() -> {
      if (previous[0] == null) {
        return;
      }
      long[] now = snapshot();
      long[] a = previous[0];
      Map<String, Object> r = base();
      r.put("phase", "window");
      r.put("window", index[0]++);
      r.put("from_s", round((a[0] - startNanos) / 1e9, 3));
      r.put("to_s", round((now[0] - startNanos) / 1e9, 3));
      windowFigures(r, a, now);
      r.put("errors", errors);
      print(r);
      // The last window is the one that reaches the deadline: the result line follows.
      previous[0] = now[0] >= deadlineNanos - periodNanos / 2 ? null : now;
    }, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  /** Requests, events and the proxy's CPU between two snapshots. */
  static void windowFigures(Map<String, Object> r, long[] a, long[] b) {
    double elapsed = (b[0] - a[0]) / 1e9;
    long requests = b[1] - a[1];
    long events = b[2] - a[2];
    r.put("seconds", round(elapsed, 3));
    r.put("requests", requests);
    r.put("requests_per_s", round(requests / elapsed, 1));
    r.put("events_per_s", round(events / elapsed, 1));
    if (!cpuPids.isBlank() && a[5] >= 0 && b[5] >= 0) {
      double cpu = (b[5] - a[5]) / (double) clkTck;
      r.put("proxy_cpu_s", round(cpu, 2));
      r.put("proxy_cpu_util", round(cpu / elapsed, 3));
      r.put("requests_per_cpu_s", cpu > 0 ? round(requests / cpu, 1) : -1);
      if (a[10] >= 0 && b[10] >= 0) {
        r.put("proxy_jit_cpu_s", round((b[10] - a[10]) / (double) clkTck, 2));
      }
      if (a[8] >= 0 && b[8] >= 0 && b[9] > a[9]) {
        double busy = (b[8] - a[8]) / (double) (b[9] - a[9]);
        r.put("proxy_core_others", round(Math.max(0, busy - cpu / elapsed), 3));
      }
    }
  }

  static Map<String, Object> result() {
    Map<String, Object> r = base();
    long[] a = windowStart;
    long[] b = windowEnd;
    double elapsed = (b[0] - a[0]) / 1e9;
    long requests = b[1] - a[1];
    long events = b[2] - a[2];
    long contentEvents = b[3] - a[3];
    r.put("warmup_seconds", warmupSec);
    r.put("seconds", round(elapsed, 3));
    r.put("requests", requests);
    r.put("events", events);
    r.put("content_events", contentEvents);
    r.put("errors", errors);
    r.put("connects", connects);
    r.put("requests_per_s", round(requests / elapsed, 1));
    r.put("events_per_s", round(events / elapsed, 1));
    if (!cpuPids.isBlank() && a[5] >= 0 && b[5] >= 0) {
      double cpu = (b[5] - a[5]) / (double) clkTck;
      r.put("proxy_cpu_s", round(cpu, 2));
      r.put("proxy_cpu_util", round(cpu / elapsed, 3));
      r.put("requests_per_cpu_s", cpu > 0 ? round(requests / cpu, 1) : -1);
      r.put("events_per_cpu_s", cpu > 0 ? round(events / cpu, 1) : -1);
      if (a[10] >= 0 && b[10] >= 0) {
        r.put("proxy_jit_cpu_s", round((b[10] - a[10]) / (double) clkTck, 2));
      }
      if (a[8] >= 0 && b[8] >= 0 && b[9] > a[9]) {
        // Ticks are per core: busy ÷ total of the core = how many of its seconds were used.
        double busy = (b[8] - a[8]) / (double) (b[9] - a[9]);
        r.put("proxy_core_busy", round(busy, 3));
        r.put("proxy_core_others", round(Math.max(0, busy - cpu / elapsed), 3));
      }
    }
    long wire = b[6] - a[6];
    r.put("wire_bytes", wire);
    r.put("wire_bytes_per_event", events > 0 ? round(wire / (double) events, 1) : -1);
    if (gzip) {
      r.put("gzip_responses", b[7] - a[7]); // of the window's responses (requests) the proxy gzipped
    }
    if (tlsSession != null) {
      r.put("tls", tlsSession);
    }
    if (mode.equals("latency")) {
      long[] t = ttfts.sorted();
      long[] g = gaps.sorted();
      r.put("ttft_samples", t.length);
      r.put("ttft_p50_ms", ms(pct(t, 50)));
      r.put("ttft_p99_ms", ms(pct(t, 99)));
      r.put("ttft_max_ms", ms(t.length == 0 ? -1 : t[t.length - 1]));
      r.put("gap_samples", g.length);
      r.put("gap_p50_ms", ms(pct(g, 50)));
      r.put("gap_p99_ms", ms(pct(g, 99)));
      r.put("gap_max_ms", ms(g.length == 0 ? -1 : g[g.length - 1]));
    }
    if (firstError != null) {
      r.put("first_error", firstError);
    }
    return r;
  }

  static long pct(long[] sorted, double p) {
    if (sorted.length == 0) {
      return -1;
    }
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  static double ms(long micros) {
    return micros < 0 ? -1 : round(micros / 1000.0, 3);
  }

  static double round(double v, int places) {
    double f = Math.pow(10, places);
    return Math.round(v * f) / f;
  }

  static void print(Map<String, Object> r) {
    StringBuilder sb = new StringBuilder("{");
    boolean first = true;
    for (Map.Entry<String, Object> e : r.entrySet()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      sb.append('"').append(e.getKey()).append("\":");
      Object v = e.getValue();
      if (v instanceof Number) {
        sb.append(v);
      } else {
        sb.append('"').append(String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
      }
    }
    System.out.println(sb.append('}'));
    System.out.flush();
  }

  /** A growable array of longs (no boxing: latency runs record hundreds of thousands). */
  static final class LongList {
    long[] a = new long[1024];
    int n;

    void add(long v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, n * 2);
      }
      a[n++] = v;
    }

    long[] sorted() {
      long[] s = Arrays.copyOf(a, n);
      Arrays.sort(s);
      return s;
    }
  }

  static {
    Locale.setDefault(Locale.ROOT);
  }
}
