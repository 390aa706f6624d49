package dev.attestmesh.server.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code attestmesh.authz.replica-identities} accepts reserved replica identities only. */
class RegistryWatchSettingsTest {

    @Test
    void acceptsReservedReplicaIdentities() {
        Set<String> ids = Set.of("spiffe://attestmesh.local/attestmesh/replica/authz-1",
                "spiffe://attestmesh.local/attestmesh/replica/authz-2");
        assertEquals(ids, new RegistryWatchSettings(ids, Duration.ofSeconds(5)).replicaIdentities());
    }

    @Test
    void refusesNodeWorkloadAdminAndMalformedIdentitiesAtStart() {
        for (String wrong : List.of("spiffe://attestmesh.local/node/authz-1", "spiffe://attestmesh.local/ns/a/sa/b",
                "spiffe://attestmesh.local/attestmesh/admin/authz-1", "spiffe://attestmesh.local/attestmesh/control-plane",
                "spiffe://attestmesh.local/attestmesh/replica/Bad_Name")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new RegistryWatchSettings(Set.of(wrong), Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains(wrong) && e.getMessage().contains("not a reserved replica identity"),
                    e.getMessage());
        }
        IllegalArgumentException notSpiffe = assertThrows(IllegalArgumentException.class,
                () -> new RegistryWatchSettings(Set.of("authz-1"), Duration.ofSeconds(5)));
        assertTrue(notSpiffe.getMessage().contains("is not a SPIFFE ID"), notSpiffe.getMessage());
    }
}
