package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ChangeTest {
    @Test
    void everyChangeRoundTripsThroughItsPayload() {
        assertEquals("node:payments", new Change.Node("payments").payload());
        assertEquals(Optional.of(new Change.Node("payments")), Change.parse("node:payments"));
        assertEquals(Optional.of(new Change.Node("a:b")), Change.parse("node:a:b"));
        for (Change.Topic t : Change.Topic.values()) {
            assertEquals(Optional.of(t), Change.parse(t.payload()));
        }
        assertEquals("policies", Change.Topic.POLICIES.payload());
        assertEquals("revocations", Change.Topic.REVOCATIONS.payload());
    }

    @Test
    void unknownOrEmptyPayloadsNameNothing() {
        assertEquals(Optional.empty(), Change.parse("node:"));
        assertEquals(Optional.empty(), Change.parse("certificates"));
        assertEquals(Optional.empty(), Change.parse(""));
        assertThrows(IllegalArgumentException.class, () -> new Change.Node(""));
    }
}
