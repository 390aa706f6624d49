package dev.attestmesh.server.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.admission.challenge.ChallengeLimits;
import io.micronaut.core.value.MapPropertyResolver;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChallengeLimitsConfigTest {
    @Test
    void unsetKeysKeepTheDefaultsAndSetOnesOverrideThem() {
        assertEquals(ChallengeLimits.DEFAULTS, ChallengeLimitsConfig.from(new MapPropertyResolver(Map.of())));
        ChallengeLimits l = ChallengeLimitsConfig.from(new MapPropertyResolver(Map.of(
                "attestmesh.challenge.max-per-node", "2", "attestmesh.challenge.peer-rate", "0.5",
                "attestmesh.challenge.rate", 300, "attestmesh.challenge.max-outstanding", "50_000")));
        assertEquals(2, l.perNode());
        assertEquals(0.5, l.peerRate());
        assertEquals(300, l.rate());
        assertEquals(50_000, l.maxOutstanding());
        assertEquals(ChallengeLimits.DEFAULTS.renewalReserve(), l.renewalReserve());
    }

    @Test
    void badValuesStopTheStartNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChallengeLimitsConfig.from(
                new MapPropertyResolver(Map.of("attestmesh.challenge.max-per-peer", "lots"))));
        assertTrue(e.getMessage().contains("attestmesh.challenge.max-per-peer must be a whole number, got 'lots'"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ChallengeLimitsConfig.from(
                new MapPropertyResolver(Map.of("attestmesh.challenge.renewal-rate", "0"))));
        assertTrue(e.getMessage().contains("attestmesh.challenge.renewal-rate must be a rate per second above 0"),
                e.getMessage());
    }
}
