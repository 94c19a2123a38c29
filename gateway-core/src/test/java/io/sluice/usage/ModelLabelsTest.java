package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ModelLabelsTest {
  @Test
  void capPerRoute_thenOther() {
    ModelLabels labels = new ModelLabels();
    for (int i = 0; i < 100; i++) {
      assertThat(labels.label("chat", "model-" + i)).isEqualTo("model-" + i);
    }
    assertThat(labels.label("chat", "model-100")).isEqualTo(ModelLabels.OTHER);
    assertThat(labels.label("chat", "model-7")).as("admitted values stay").isEqualTo("model-7");
    assertThat(labels.label("other-route", "model-100")).as("the cap is per route").isEqualTo("model-100");
    assertThat(labels.distinct("chat")).isEqualTo(100);
  }

  @Test
  void missingOrAbsurdModels() {
    ModelLabels labels = new ModelLabels(2);
    assertThat(labels.label("r", null)).isEqualTo(ModelLabels.UNKNOWN);
    assertThat(labels.label("r", " ")).isEqualTo(ModelLabels.UNKNOWN);
    assertThat(labels.label("r", "x".repeat(129))).isEqualTo(ModelLabels.OTHER);
    assertThat(labels.distinct("r")).isZero();
  }

  @Test
  void concurrentCallers_admitExactlyTheCap() throws Exception {
    ModelLabels labels = new ModelLabels();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    CountDownLatch start = new CountDownLatch(1);
    Set<String> returned = ConcurrentHashMap.newKeySet();
    List<Future<?>> futures = new ArrayList<>();
    try {
      for (int t = 0; t < 8; t++) {
        int thread = t;
        futures.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < 1000; i++) {
            returned.add(labels.label("r", "m" + ((i * 7 + thread) % 500)));
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(labels.distinct("r")).isEqualTo(100);
    assertThat(returned).hasSize(101).contains(ModelLabels.OTHER);
  }
}
