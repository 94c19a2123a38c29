package io.sluice.upstream;

import io.sluice.config.UpstreamConfig;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Chooses an endpoint among the available ones, honouring weights. */
public interface Balancer {
  /** @param candidates non-empty, available endpoints */
  Endpoint pick(List<Endpoint> candidates);

  static Balancer of(UpstreamConfig.Balancer kind) {
    return switch (kind) {
      case ROUND_ROBIN -> new SmoothRoundRobin();
      case LEAST_REQUESTS -> new LeastRequests();
      case RANDOM -> new WeightedRandom();
    };
  }

  /**
   * nginx's smooth weighted round-robin: weights 5,1,1 give a,a,b,a,c,a,a rather than
   * a,a,a,a,a,b,c. Synchronised: the critical section is a few additions, shared by all loops.
   */
  final class SmoothRoundRobin implements Balancer {
    @Override
    public synchronized Endpoint pick(List<Endpoint> candidates) {
      int total = 0;
      Endpoint best = null;
      for (Endpoint e : candidates) {
        e.swrrCurrent += e.weight();
        total += e.weight();
        if (best == null || e.swrrCurrent > best.swrrCurrent) {
          best = e;
        }
      }
      best.swrrCurrent -= total;
      return best;
    }
  }

  /** Fewest in-flight requests per unit of weight; ties broken at random. */
  final class LeastRequests implements Balancer {
    @Override
    public Endpoint pick(List<Endpoint> candidates) {
      Endpoint best = null;
      double bestLoad = Double.MAX_VALUE;
      int ties = 0;
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (Endpoint e : candidates) {
        double load = (double) e.activeRequests().get() / e.weight();
        if (load < bestLoad) {
          best = e;
          bestLoad = load;
          ties = 1;
        } else if (load == bestLoad && random.nextInt(++ties) == 0) {
          best = e; // reservoir sampling over the tied endpoints
        }
      }
      return best;
    }
  }

  /** Random, in proportion to weight. */
  final class WeightedRandom implements Balancer {
    @Override
    public Endpoint pick(List<Endpoint> candidates) {
      int total = 0;
      for (Endpoint e : candidates) {
        total += e.weight();
      }
      int r = ThreadLocalRandom.current().nextInt(total);
      for (Endpoint e : candidates) {
        r -= e.weight();
        if (r < 0) {
          return e;
        }
      }
      return candidates.get(candidates.size() - 1);
    }
  }
}
