package dev.attestmesh.server.watch;

import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.identity.ReservedIdentities;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Who may watch the registry and how often an idle stream hears from the control plane.
 *
 * @param replicaIdentities reserved replica SPIFFE IDs ({@code spiffe://<td>/attestmesh/replica/<name>}) of
 *     standalone ext_authz replicas allowed to call {@code WatchRegistry}; any other ID is refused on
 *     construction; empty refuses every caller (the default: the registry reveals every
 *     node's claims, so nobody gets it unless an operator names them)
 * @param heartbeatInterval an event is sent at least this often on an idle stream, so replicas can
 *     tell a quiet control plane from a lost one
 */
public record RegistryWatchSettings(Set<String> replicaIdentities, Duration heartbeatInterval) {
    /** Default heartbeat: well inside the replicas' default staleness limit of 30 s. */
    public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(5);

    public RegistryWatchSettings {
        replicaIdentities = Set.copyOf(replicaIdentities);
        Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        if (heartbeatInterval.compareTo(Duration.ofMillis(10)) < 0) {
            throw new IllegalArgumentException("registry watch heartbeat " + heartbeatInterval
                    + " is too short; use at least 10ms (default 5s)");
        }
        for (String id : replicaIdentities) {
            SpiffeId parsed;
            try {
                parsed = SpiffeId.parse(id);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("authz replica identity '" + id + "' is not a SPIFFE ID: "
                        + e.getMessage(), e);
            }
            if (ReservedIdentities.replicaName(parsed.trustDomain(), id).isEmpty()) {
                throw new IllegalArgumentException("authz replica identity '" + id + "' is not a reserved replica"
                        + " identity: replicas authenticate with spiffe://" + parsed.trustDomain()
                        + "/attestmesh/replica/<name>, issued with 'attestmesh ca issue-client --replica <name>'"
                        + " (any other SPIFFE ID could be held by an attested node)");
            }
        }
    }

    /** Nobody may watch; heartbeat every 5 s. */
    public static RegistryWatchSettings refuseAll() {
        return new RegistryWatchSettings(Set.of(), DEFAULT_HEARTBEAT);
    }

    /** Parses a comma-separated list of SPIFFE IDs, as in {@code attestmesh.authz.replica-identities}. */
    public static Set<String> parseIdentities(String commaSeparated) {
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
        for (String s : commaSeparated.split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out;
    }
}
