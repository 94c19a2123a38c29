package io.sluice.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A socket read's buffer: allocated from the pooled allocator and released once its bytes are
 * relayed, at the sizes Netty's adaptive read sizing picks. With Netty's default, buffers up to
 * 32 KiB come from the thread's own cache and a 64 KiB one goes to the shared arena on every read;
 * the shipped {@code docker/jvm.options} raises the cached size to 64 KiB
 * ({@code io.netty.allocator.maxCachedBufferCapacity}, read once when Netty's allocator class
 * loads, hence one fork per setting). The allocator is built as the event loops' is (1 MiB chunks,
 * {@code maxOrder=7}), with a cache for this benchmark's thread too (event loops always get one).
 *
 * <pre>java -cp bench/jmh/target/benchmarks.jar:gateway-server/target/gateway.jar org.openjdk.jmh.Main ReadBufferBenchmark</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ReadBufferBenchmark {
  @Param({"16384", "32768", "65536"})
  public int size;

  private PooledByteBufAllocator alloc;

  @Setup
  public void setUp() {
    alloc = new PooledByteBufAllocator(true, 0, 1, 8192, 7, 256, 64, true);
  }

  @Benchmark
  @Fork(value = 1, jvmArgsAppend = "-Dio.netty.allocator.maxCachedBufferCapacity=32768")
  public int nettyDefault() {
    return readAndRelease();
  }

  @Benchmark
  @Fork(value = 1, jvmArgsAppend = "-Dio.netty.allocator.maxCachedBufferCapacity=65536")
  public int shipped() {
    return readAndRelease();
  }

  private int readAndRelease() {
    ByteBuf read = alloc.directBuffer(size);
    read.writeLong(size); // a read writes into it
    int n = read.readableBytes();
    read.release();
    return n;
  }
}
