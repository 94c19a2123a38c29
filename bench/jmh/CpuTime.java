import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.util.Arrays;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Runs one benchmark method of bench/jmh in a plain loop and prints the thread's CPU time per
 * operation (min and median of the rounds), not wall time: on a machine shared with builds a
 * benchmark thread waits for the core, which inflates JMH's wall-clock scores but not its CPU time.
 *
 * <pre>java -cp bench/jmh/target/benchmarks.jar:gateway-server/target/gateway.jar bench/jmh/CpuTime.java \
 *     io.sluice.relay.EventPathBenchmark chatStream reads=event</pre>
 */
public class CpuTime {
  public static void main(String[] args) throws Exception {
    Class<?> type = Class.forName(args[0]);
    Object state = type.getDeclaredConstructor().newInstance();
    for (int i = 2; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      type.getField(kv[0]).set(state, kv[1]);
    }
    for (Method m : type.getMethods()) {
      if (m.getName().equals("setUp")) {
        m.invoke(state);
      }
    }
    Method op = type.getMethod(args[1], Blackhole.class);
    Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    int ops = Integer.getInteger("ops", 2000);
    int rounds = Integer.getInteger("rounds", 10);
    long warmUntil = threads.getCurrentThreadCpuTime() + Long.getLong("warmSeconds", 15) * 1_000_000_000L;
    while (threads.getCurrentThreadCpuTime() < warmUntil) {
      for (int i = 0; i < 200; i++) {
        bh.consume(op.invoke(state, bh));
      }
    }
    double[] perOp = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      long start = threads.getCurrentThreadCpuTime();
      for (int i = 0; i < ops; i++) {
        bh.consume(op.invoke(state, bh));
      }
      perOp[r] = (threads.getCurrentThreadCpuTime() - start) / 1000.0 / ops;
    }
    Arrays.sort(perOp);
    System.out.printf("%s.%s %s: CPU µs per op: min %.1f, median %.1f, max %.1f (%d rounds of %d)%n", type.getSimpleName(),
        args[1], String.join(" ", Arrays.copyOfRange(args, 2, args.length)), perOp[0], perOp[rounds / 2],
        perOp[rounds - 1], rounds, ops);
  }
}
