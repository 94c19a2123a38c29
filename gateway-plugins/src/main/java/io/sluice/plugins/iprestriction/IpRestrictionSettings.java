package io.sluice.plugins.iprestriction;

import java.util.List;

/**
 * The validated {@code ip-restriction} settings: networks as written (CIDRs or single
 * addresses), each already checked by {@link io.sluice.net.CidrSet#problem}.
 *
 * @param allow empty means every address not denied is allowed
 * @param deny checked first: deny wins over allow
 */
public record IpRestrictionSettings(List<String> allow, List<String> deny) {
  public IpRestrictionSettings {
    allow = List.copyOf(allow);
    deny = List.copyOf(deny);
  }
}
