package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.plugin.PluginRegistry;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes manifests ({@code docker/kubernetes/*.yaml}) as a cluster would take them, checked
 * without a cluster: every pod passes the Pod Security "restricted" profile, natives can load under
 * the read-only root, the CPU limit matches {@code io-threads}, the JVM's memory fits the container
 * limit with headroom, nothing fights the autoscaler, replicas spread, and the ServiceMonitor
 * scrapes the admin listener as the job the alerting rules expect.
 */
class KubernetesManifestsTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path DIR = ROOT.resolve("docker/kubernetes");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final long MIB = 1024 * 1024;
  /**
   * What the JVM uses besides heap, direct buffers, metaspace and code cache: thread stacks (a few
   * dozen threads at 1 MiB), GC bookkeeping, Netty's native libraries and malloc arenas.
   */
  private static final long OTHER_NATIVE = 128 * MIB;
  /** HotSpot's ReservedCodeCacheSize with tiered compilation, when the flags do not set it. */
  private static final long DEFAULT_CODE_CACHE = 240 * MIB;

  /** Every document of every manifest, with the file it came from. */
  private record Doc(Path file, JsonNode node) {
    String kind() {
      return node.path("kind").asText();
    }

    String name() {
      return node.path("metadata").path("name").asText();
    }
  }

  private static List<Doc> docs;

  @BeforeAll
  static void readManifests() throws IOException {
    docs = new ArrayList<>();
    try (Stream<Path> files = Files.list(DIR)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
          for (JsonNode n : it.readAll()) {
            if (!n.isNull() && !n.isMissingNode()) {
              docs.add(new Doc(f, n));
            }
          }
        }
      }
    }
    assertThat(docs).isNotEmpty();
  }

  @Test
  void everyDocumentNamesItsApiKindAndName() {
    for (Doc d : docs) {
      assertThat(d.node.path("apiVersion").asText()).as(d.file + ": apiVersion").isNotEmpty();
      assertThat(d.kind()).as(d.file + ": kind").isNotEmpty();
      assertThat(d.name()).as(d.file + ": metadata.name of a " + d.kind()).isNotEmpty();
    }
  }

  @Test
  void everyPodPassesThePodSecurityRestrictedProfile() {
    List<JsonNode> pods = podSpecs();
    assertThat(pods).isNotEmpty();
    for (JsonNode pod : pods) {
      JsonNode podSc = pod.path("securityContext");
      for (String hostNs : List.of("hostNetwork", "hostPID", "hostIPC")) {
        assertThat(pod.path(hostNs).asBoolean(false)).as(hostNs).isFalse();
      }
      for (JsonNode v : pod.path("volumes")) {
        assertThat(v.has("hostPath")).as("volume " + v.path("name").asText() + " is a hostPath").isFalse();
      }
      assertThat(podSc.path("runAsUser").asLong(1)).as("pod runAsUser").isNotZero();
      for (JsonNode c : containers(pod)) {
        String name = "container " + c.path("name").asText();
        JsonNode sc = c.path("securityContext");
        assertThat(effective(sc, podSc, "runAsNonRoot").asBoolean(false)).as(name + ": runAsNonRoot").isTrue();
        assertThat(sc.path("runAsUser").asLong(1)).as(name + ": runAsUser").isNotZero();
        assertThat(sc.path("privileged").asBoolean(false)).as(name + ": privileged").isFalse();
        assertThat(sc.path("allowPrivilegeEscalation").isBoolean() && !sc.path("allowPrivilegeEscalation").asBoolean())
            .as(name + ": allowPrivilegeEscalation must be set to false").isTrue();
        assertThat(texts(sc.path("capabilities").path("drop"))).as(name + ": capabilities.drop").contains("ALL");
        assertThat(texts(sc.path("capabilities").path("add"))).as(name + ": capabilities.add")
            .isSubsetOf("NET_BIND_SERVICE");
        assertThat(effective(sc, podSc, "seccompProfile").path("type").asText())
            .as(name + ": seccompProfile.type").isIn("RuntimeDefault", "Localhost");
        for (JsonNode p : c.path("ports")) {
          assertThat(p.has("hostPort")).as(name + ": hostPort").isFalse();
        }
      }
    }
  }

  @Test
  void aReadOnlyRootHasAWritableTmpForNettysNativeLibraries() {
    for (JsonNode pod : podSpecs()) {
      Map<String, JsonNode> volumes = new HashMap<>();
      pod.path("volumes").forEach(v -> volumes.put(v.path("name").asText(), v));
      for (JsonNode c : containers(pod)) {
        assertThat(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean(false))
            .as("container " + c.path("name").asText() + ": readOnlyRootFilesystem").isTrue();
        JsonNode tmp = null;
        for (JsonNode m : c.path("volumeMounts")) {
          if (m.path("mountPath").asText().equals("/tmp")) {
            tmp = m;
          }
        }
        assertThat(tmp).as("a volume mounted at /tmp (java.io.tmpdir, where Netty unpacks epoll and BoringSSL)")
            .isNotNull();
        assertThat(tmp.path("readOnly").asBoolean(false)).as("/tmp is writable").isFalse();
        assertThat(volumes.get(tmp.path("name").asText())).as("the /tmp volume").isNotNull();
        assertThat(volumes.get(tmp.path("name").asText()).has("emptyDir")).as("/tmp is an emptyDir").isTrue();
      }
    }
  }

  @Test
  void theCpuLimitIsTheNumberOfEventLoops() throws Exception {
    GatewayConfig config = shippedConfig();
    assertThat(config.ioThreads()).as("io-threads is set explicitly in the ConfigMap").isPositive();
    JsonNode limits = gateway().path("resources").path("limits");
    assertThat(cpus(limits.path("cpu").asText())).as("resources.limits.cpu")
        .isEqualByComparingTo(BigDecimal.valueOf(config.ioThreads()));
  }

  @Test
  void theJvmsMemoryFitsTheContainerLimitWithHeadroom() throws Exception {
    JsonNode gateway = gateway();
    long limit = bytes(gateway.path("resources").path("limits").path("memory").asText());
    Map<String, String> flags = jvmFlags(gateway);

    long heap = flags.containsKey("-Xmx") ? jvmSize(flags.get("-Xmx"))
        : (long) (limit * Double.parseDouble(flags.getOrDefault("-XX:MaxRAMPercentage", "25")) / 100);
    // Without the flag the JVM allows as much direct memory as heap.
    long direct = flags.containsKey("-XX:MaxDirectMemorySize") ? jvmSize(flags.get("-XX:MaxDirectMemorySize")) : heap;
    assertThat(flags).as("metaspace is bounded (it is not by default)").containsKey("-XX:MaxMetaspaceSize");
    long metaspace = jvmSize(flags.get("-XX:MaxMetaspaceSize"));
    long codeCache = flags.containsKey("-XX:ReservedCodeCacheSize")
        ? jvmSize(flags.get("-XX:ReservedCodeCacheSize")) : DEFAULT_CODE_CACHE;
    long budget = heap + direct + metaspace + codeCache + OTHER_NATIVE;

    String sum = "heap %d MiB + direct %d MiB + metaspace %d MiB + code cache %d MiB + other %d MiB = %d MiB, limit %d MiB"
        .formatted(heap / MIB, direct / MIB, metaspace / MIB, codeCache / MIB, OTHER_NATIVE / MIB, budget / MIB, limit / MIB);
    assertThat(budget).as(sum + ": at least 5% headroom").isLessThanOrEqualTo((long) (limit * 0.95));
    // The budget written next to the flags is the one computed here.
    String manifest = readString(DIR.resolve("sluice.yaml"));
    assertThat(manifest).as("the manifest's comment states the budget's total")
        .contains("= " + budget / MIB + "Mi");
  }

  @Test
  void theContainerCommandIsTheImagesEntryPointWithFlagsAfterTheArgfile() throws Exception {
    List<String> command = texts(gateway().path("command"));
    String dockerfile = readString(ROOT.resolve("docker/Dockerfile"));
    Matcher entry = Pattern.compile("(?m)^ENTRYPOINT \\[(.*)]$").matcher(dockerfile);
    assertThat(entry.find()).as("docker/Dockerfile has an exec-form ENTRYPOINT").isTrue();
    List<String> entrypoint = new ArrayList<>();
    Matcher item = Pattern.compile("\"([^\"]*)\"").matcher(entry.group(1));
    while (item.find()) {
      entrypoint.add(item.group(1));
    }
    // Same program, same argfile first (so the flags after it win), same jar at the end.
    assertThat(command.subList(0, 2)).isEqualTo(entrypoint.subList(0, 2));
    assertThat(command.subList(command.size() - 2, command.size()))
        .isEqualTo(entrypoint.subList(entrypoint.size() - 2, entrypoint.size()));
  }

  @Test
  void noReplicasFightTheAutoscaler() {
    for (Doc hpa : ofKind("HorizontalPodAutoscaler")) {
      JsonNode target = hpa.node.path("spec").path("scaleTargetRef");
      Doc scaled = docs.stream()
          .filter(d -> d.kind().equals(target.path("kind").asText()) && d.name().equals(target.path("name").asText()))
          .findFirst().orElseThrow(() -> new AssertionError("the HPA's target " + target + " is not in the manifests"));
      assertThat(scaled.node.path("spec").has("replicas"))
          .as(scaled.kind() + " " + scaled.name() + " sets replicas although HPA " + hpa.name() + " scales it").isFalse();
      assertThat(hpa.node.path("spec").path("minReplicas").asInt(1)).as("minReplicas (one pod is no fleet)")
          .isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void replicasSpreadOverNodesAndZones() {
    for (Doc d : ofKind("Deployment")) {
      JsonNode template = d.node.path("spec").path("template");
      JsonNode constraints = template.path("spec").path("topologySpreadConstraints");
      List<String> keys = new ArrayList<>();
      for (JsonNode c : constraints) {
        keys.add(c.path("topologyKey").asText());
        assertThat(c.path("maxSkew").asInt()).isPositive();
        assertThat(c.path("whenUnsatisfiable").asText()).isIn("DoNotSchedule", "ScheduleAnyway");
        assertThat(selects(c.path("labelSelector").path("matchLabels"), template.path("metadata").path("labels")))
            .as("the spread constraint counts this Deployment's own pods").isTrue();
      }
      assertThat(keys).contains("kubernetes.io/hostname", "topology.kubernetes.io/zone");
    }
  }

  @Test
  void theServiceMonitorScrapesTheAdminListenerAsTheAlertsJob() throws Exception {
    List<Doc> monitors = ofKind("ServiceMonitor");
    assertThat(monitors).hasSize(1);
    Doc monitor = monitors.get(0);
    assertThat(monitor.file.getFileName().toString()).as("the optional CRD lives in its own file")
        .isNotEqualTo("sluice.yaml");

    JsonNode spec = monitor.node.path("spec");
    List<Doc> services = ofKind("Service").stream()
        .filter(s -> selects(spec.path("selector").path("matchLabels"), s.node.path("metadata").path("labels")))
        .toList();
    assertThat(services).as("Services the ServiceMonitor selects").hasSize(1);
    JsonNode service = services.get(0).node;
    JsonNode pod = ofKind("Deployment").get(0).node.path("spec").path("template");
    assertThat(selects(service.path("spec").path("selector"), pod.path("metadata").path("labels")))
        .as("the scraped Service selects the gateway's pods").isTrue();

    String portName = spec.path("endpoints").get(0).path("port").asText();
    assertThat(spec.path("endpoints").get(0).path("path").asText()).isEqualTo("/metrics");
    JsonNode servicePort = null;
    for (JsonNode p : service.path("spec").path("ports")) {
      if (p.path("name").asText().equals(portName)) {
        servicePort = p;
      }
    }
    assertThat(servicePort).as("Service port '" + portName + "'").isNotNull();
    int containerPort = containerPort(gateway(), servicePort.path("targetPort").asText());
    assertThat(containerPort).as("the scraped port is the admin listener's")
        .isEqualTo(shippedConfig().admin().port());

    String job = service.path("metadata").path("labels").path(spec.path("jobLabel").asText()).asText();
    assertThat(readString(ROOT.resolve("docker/prometheus/alerts.yaml"))).as("the alerts' job")
        .contains("job=\"" + job + "\"");
  }

  @Test
  void probesAndTheAdminServiceUseTheAdminListener() throws Exception {
    JsonNode gateway = gateway();
    int admin = shippedConfig().admin().port();
    for (String probe : List.of("readinessProbe", "livenessProbe")) {
      JsonNode get = gateway.path(probe).path("httpGet");
      assertThat(containerPort(gateway, get.path("port").asText())).as(probe + " port").isEqualTo(admin);
    }
    assertThat(gateway.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/readyz");
    assertThat(gateway.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/healthz");
    // The public Service never exposes the admin listener.
    Doc publicService = ofKind("Service").stream().filter(s -> s.name().equals("sluice")).findFirst().orElseThrow();
    for (JsonNode p : publicService.node.path("spec").path("ports")) {
      assertThat(containerPort(gateway, p.path("targetPort").asText())).isNotEqualTo(admin);
    }
  }

  // ---- helpers

  private static List<Doc> ofKind(String kind) {
    return docs.stream().filter(d -> d.kind().equals(kind)).toList();
  }

  private static List<JsonNode> podSpecs() {
    List<JsonNode> pods = new ArrayList<>();
    for (Doc d : docs) {
      switch (d.kind()) {
        case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job" ->
            pods.add(d.node.path("spec").path("template").path("spec"));
        case "CronJob" -> pods.add(d.node.path("spec").path("jobTemplate").path("spec").path("template").path("spec"));
        case "Pod" -> pods.add(d.node.path("spec"));
        default -> { }
      }
    }
    return pods;
  }

  private static List<JsonNode> containers(JsonNode pod) {
    List<JsonNode> all = new ArrayList<>();
    pod.path("initContainers").forEach(all::add);
    pod.path("containers").forEach(all::add);
    pod.path("ephemeralContainers").forEach(all::add);
    return all;
  }

  /** The gateway container of the Deployment. */
  private static JsonNode gateway() {
    List<Doc> deployments = ofKind("Deployment");
    assertThat(deployments).hasSize(1);
    return deployments.get(0).node.path("spec").path("template").path("spec").path("containers").get(0);
  }

  /** The config in the ConfigMap, loaded as the gateway would (the admin token stands in). */
  private static GatewayConfig shippedConfig() throws Exception {
    Doc configMap = ofKind("ConfigMap").get(0);
    String yaml = configMap.node.path("data").path("gateway.yaml").asText()
        .replace("${file:/run/secrets/sluice/admin-token}", "t0ken");
    return new ConfigLoader(name -> null, PluginRegistry.load()).parse(yaml, ROOT);
  }

  /** A container field set on the container wins over the pod's. */
  private static JsonNode effective(JsonNode container, JsonNode pod, String field) {
    return container.has(field) ? container.path(field) : pod.path(field);
  }

  private static boolean selects(JsonNode matchLabels, JsonNode labels) {
    if (!matchLabels.isObject() || matchLabels.isEmpty()) {
      return false;
    }
    for (var it = matchLabels.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!labels.path(e.getKey()).asText("\0").equals(e.getValue().asText())) {
        return false;
      }
    }
    return true;
  }

  private static int containerPort(JsonNode container, String nameOrNumber) {
    for (JsonNode p : container.path("ports")) {
      if (p.path("name").asText().equals(nameOrNumber) || p.path("containerPort").asText().equals(nameOrNumber)) {
        return p.path("containerPort").asInt();
      }
    }
    throw new AssertionError("container " + container.path("name").asText() + " has no port " + nameOrNumber);
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /**
   * The JVM flags the container runs with: docker/jvm.options (the argfile the command names),
   * then the command's own flags before {@code -jar}; a later flag wins, as in the JVM.
   */
  private static Map<String, String> jvmFlags(JsonNode container) throws IOException {
    List<String> command = texts(container.path("command"));
    assertThat(command).as("the container's command sets the JVM flags").isNotEmpty();
    List<String> all = new ArrayList<>();
    for (String arg : command.subList(1, command.size())) {
      if (arg.equals("-jar")) {
        break;
      }
      if (arg.startsWith("@")) {
        assertThat(arg).as("the argfile is the image's copy of docker/jvm.options").endsWith("/jvm.options");
        for (String line : Files.readAllLines(ROOT.resolve("docker/jvm.options"))) {
          if (!line.isBlank() && !line.strip().startsWith("#")) {
            all.add(line.strip());
          }
        }
      } else {
        all.add(arg);
      }
    }
    Map<String, String> flags = new LinkedHashMap<>();
    for (String f : all) {
      if (f.startsWith("-Xmx")) {
        flags.put("-Xmx", f.substring(4));
      } else if (f.startsWith("-XX:") && f.contains("=")) {
        flags.put(f.substring(0, f.indexOf('=')), f.substring(f.indexOf('=') + 1));
      }
    }
    return flags;
  }

  /** A JVM size: {@code 640m}, {@code 1g}, {@code 512k}, or bytes. */
  static long jvmSize(String s) {
    String lower = s.toLowerCase();
    long unit = switch (lower.charAt(lower.length() - 1)) {
      case 'k' -> 1024;
      case 'm' -> MIB;
      case 'g' -> 1024 * MIB;
      default -> 1;
    };
    String digits = unit == 1 ? lower : lower.substring(0, lower.length() - 1);
    return Long.parseLong(digits) * unit;
  }

  /** A Kubernetes memory quantity: {@code 1536Mi}, {@code 1.5Gi}, {@code 2G}, or bytes. */
  static long bytes(String quantity) {
    Matcher m = Pattern.compile("([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?").matcher(quantity);
    assertThat(m.matches()).as("memory quantity '" + quantity + "'").isTrue();
    BigDecimal n = new BigDecimal(m.group(1));
    long unit = m.group(2) == null ? 1 : switch (m.group(2)) {
      case "Ki" -> 1024L;
      case "Mi" -> MIB;
      case "Gi" -> 1024 * MIB;
      case "Ti" -> 1024 * 1024 * MIB;
      case "k" -> 1000L;
      case "M" -> 1000_000L;
      case "G" -> 1000_000_000L;
      default -> 1000_000_000_000L;
    };
    return n.multiply(BigDecimal.valueOf(unit)).longValueExact();
  }

  /** A Kubernetes CPU quantity: {@code 2}, {@code 1.5}, {@code 2000m}. */
  static BigDecimal cpus(String quantity) {
    assertThat(quantity).as("resources.limits.cpu is set").isNotEmpty();
    return quantity.endsWith("m")
        ? new BigDecimal(quantity.substring(0, quantity.length() - 1)).movePointLeft(3)
        : new BigDecimal(quantity);
  }

  private static String readString(Path p) throws IOException {
    return Files.readString(p);
  }

  @Test
  void quantitiesParseAsKubernetesAndTheJvmReadThem() {
    assertThat(bytes("1536Mi")).isEqualTo(1536 * MIB);
    assertThat(bytes("1.5Gi")).isEqualTo(1536 * MIB);
    assertThat(bytes("2G")).isEqualTo(2_000_000_000L);
    assertThat(cpus("2000m")).isEqualByComparingTo("2");
    assertThat(cpus("2")).isEqualByComparingTo("2");
    assertThat(jvmSize("640m")).isEqualTo(640 * MIB);
    assertThat(jvmSize("1g")).isEqualTo(1024 * MIB);
    assertThat(jvmSize("1048576")).isEqualTo(MIB);
  }
}
