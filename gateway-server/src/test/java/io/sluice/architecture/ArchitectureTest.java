package io.sluice.architecture;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The dependency rules between Sluice's packages and modules, checked on the compiled classes of
 * all three modules (this module's test class path has them all). Test classes are left out: a
 * test may reach across layers to set up what it checks.
 *
 * <p>A violation names the offending class, member and line. A rule that fails because of a new
 * dependency is the place to decide whether the dependency or the rule is wrong; it is not to be
 * silenced with a freeze or an exception list.
 */
@AnalyzeClasses(
    packages = "io.sluice",
    importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureTest.DoNotIncludeTestJars.class})
class ArchitectureTest {

  /**
   * gateway-core's packages, by their name under {@code io.sluice}. {@code gateway} is listed
   * before it exists so that the rules hold for it from its first class on.
   */
  static final Set<String> CORE_PACKAGES = Set.of(
      "config", "exchange", "gateway", "http", "net", "observe", "plugin", "relay", "route", "server",
      "session", "sse", "store", "telemetry", "translate", "upstream", "usage", "websocket");

  /** The packages of gateway-plugins and gateway-server, which gateway-core must not know. */
  static final String[] OUTER_MODULE_PACKAGES = {
    "io.sluice.plugins..", "io.sluice.app..", "io.sluice.admin..", "io.sluice.demo.."
  };

  @ArchTest
  static final ArchRule everyPackageBelongsToAKnownModule =
      classes()
          .should()
          .resideInAnyPackage(Stream.concat(
                  CORE_PACKAGES.stream().map(p -> "io.sluice." + p + ".."),
                  Arrays.stream(OUTER_MODULE_PACKAGES))
              .toArray(String[]::new))
          .because("the rules below name gateway-core's packages one by one: a new top-level package "
              + "must be added to CORE_PACKAGES (or to the other modules' list) to be checked at all");

  @ArchTest
  static final ArchRule corePackagesAreFreeOfCycles =
      slices()
          .assignedFrom(new CorePackageSlices())
          .should()
          .beFreeOfCycles()
          .because("a cycle makes two packages one unit: neither can be understood, tested or changed "
              + "without the other, and the layering (config at the bottom, the gateway's semantics "
              + "on top) stops meaning anything");

  @ArchTest
  static final ArchRule coreKnowsNeitherPluginsNorServer =
      noClasses()
          .that()
          .resideInAnyPackage(corePackageGlobs())
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(OUTER_MODULE_PACKAGES)
          .because("gateway-core is the library the other modules build on: plugins reach it only "
              + "through the io.sluice.plugin SPI (found by ServiceLoader) and the server wires it "
              + "together, so core must compile and run without either");

  @ArchTest
  static final ArchRule pluginsDoNotTouchNetty =
      noClasses()
          .that()
          .resideInAPackage("io.sluice.plugins..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("io.netty..")
          .because("a plugin sees a request through io.sluice.plugin.RequestContext only, so it cannot "
              + "block an event loop, leak a buffer or write to a channel behind the gateway's back "
              + "(README, \"Plugins\": a Plugin never touches Netty)");

  @ArchTest
  static final ArchRule pluginsShareCodeOnlyThroughQuota =
      slices()
          .matching("io.sluice.plugins.(*)..")
          .should()
          .notDependOnEachOther()
          .ignoreDependency(resideInAPackage("io.sluice.plugins.."), resideInAPackage("io.sluice.plugins.quota.."))
          .because("one plugin's package is no other's library: what ai-token-ratelimit and ai-budget "
              + "share (rule keys, counters, the reserve-then-reconcile ledger) has one home, "
              + "io.sluice.plugins.quota, so a fix there reaches both");

  @ArchTest
  static final ArchRule transportAndUpstreamKnowNoPluginsOrRoutes =
      noClasses()
          .that()
          .resideInAnyPackage("io.sluice.relay..", "io.sluice.upstream..", "io.sluice.server..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("io.sluice.plugin..", "io.sluice.route..")
          .because("relaying bytes, reaching upstreams and serving connections work the same for any "
              + "route and any plugin chain: the gateway decides the route and runs the plugins, "
              + "then hands these layers plain values");

  @ArchTest
  static final ArchRule serverKnowsNoGatewayTypes =
      noClasses()
          .that()
          .resideInAPackage("io.sluice.server..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "io.sluice.gateway..", "io.sluice.exchange..", "io.sluice.relay..", "io.sluice.websocket..")
          .because("the transport (listeners, TLS, HTTP/1.1 and h2 framing, connection limits and "
              + "timeouts) knows no gateway types: the gateway installs its handler on the pipeline "
              + "the server builds, not the other way round");

  @ArchTest
  static final ArchRule translationIsAPureEventTransform =
      classes()
          .that()
          .resideInAPackage("io.sluice.translate..")
          .should()
          .onlyDependOnClassesThat()
          .resideInAnyPackage("io.sluice.translate..", "io.sluice.sse..", "io.sluice.config..",
              "io.netty.buffer..", "io.netty.util..", "com.fasterxml.jackson..", "java..")
          .because("translation is one stage the relay calls with bytes (an event, a body) and gets "
              + "bytes back: it never sees a channel, a route's plugins or the failover code, so it "
              + "can be tested and benchmarked on its own (gateway-core/docs/translation.md)");

  private static String[] corePackageGlobs() {
    return CORE_PACKAGES.stream().map(p -> "io.sluice." + p + "..").sorted().toArray(String[]::new);
  }

  /** One slice per gateway-core package ({@code io.sluice.(*)..}); other modules' classes are in none. */
  static final class CorePackageSlices implements SliceAssignment {
    @Override
    public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
      String name = javaClass.getPackageName();
      if (!name.startsWith("io.sluice.")) {
        return SliceIdentifier.ignore();
      }
      String top = name.substring("io.sluice.".length()).split("\\.", 2)[0];
      return CORE_PACKAGES.contains(top) ? SliceIdentifier.of("io.sluice." + top) : SliceIdentifier.ignore();
    }

    @Override
    public String getDescription() {
      return "gateway-core's packages io.sluice.(*)..";
    }
  }

  /**
   * Leaves out gateway-core's test jar, which this module's tests use for shared fixtures:
   * {@link ImportOption.DoNotIncludeTests} only recognises test-class folders, not a
   * {@code -tests.jar}.
   */
  public static final class DoNotIncludeTestJars implements ImportOption {
    @Override
    public boolean includes(Location location) {
      return !location.contains("-tests.jar");
    }
  }
}
