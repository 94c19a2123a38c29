package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sluice.config.ConfigLoader;
import io.sluice.plugin.PluginRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What can be checked here of the deployment files without a container engine: every YAML parses,
 * every shipped gateway config (also the one inside the Kubernetes ConfigMap) is valid, and the
 * Kubernetes drain settings fit the gateway's drain timeout.
 */
class DeploymentFilesTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static Stream<Path> yamlFiles() throws Exception {
    return Stream.of("docker", "config").flatMap(dir -> {
      try {
        return Files.walk(ROOT.resolve(dir))
            .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("yamlFiles")
  void everyShippedYamlFileParses(Path file) throws Exception {
    try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
      assertThat(docs.readAll()).isNotEmpty();
    }
  }

  @Test
  void shippedGatewayConfigsAreValid() throws Exception {
    Map<String, String> env = Map.of("MODEL_URL", "http://mock:9000", "SLUICE_ADMIN_TOKEN", "t0ken");
    for (String name : List.of("gateway.yaml", "compose.yaml")) {
      new ConfigLoader(env::get, PluginRegistry.load()).load(ROOT.resolve("config").resolve(name));
    }
  }

  @Test
  void kubernetesConfigMapHoldsAValidConfigAndGraceCoversTheDrain() throws Exception {
    List<JsonNode> docs;
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class)
        .readValues(ROOT.resolve("docker/kubernetes/sluice.yaml").toFile())) {
      docs = it.readAll();
    }
    JsonNode configMap = docs.stream().filter(d -> d.path("kind").asText().equals("ConfigMap")).findFirst().orElseThrow();
    String gatewayYaml = configMap.path("data").path("gateway.yaml").asText()
        .replace("${file:/run/secrets/sluice/admin-token}", "t0ken");
    var config = new ConfigLoader(name -> null, PluginRegistry.load()).parse(gatewayYaml, ROOT);
    JsonNode deployment = docs.stream().filter(d -> d.path("kind").asText().equals("Deployment")).findFirst().orElseThrow();
    long grace = deployment.path("spec").path("template").path("spec").path("terminationGracePeriodSeconds").asLong();
    assertThat(grace).isGreaterThan(config.shutdown().drainTimeout().toSeconds() + 5);
  }
}
