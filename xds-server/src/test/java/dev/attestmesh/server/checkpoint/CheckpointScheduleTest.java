package dev.attestmesh.server.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CheckpointScheduleTest {
    @Test
    void zeroTurnsTheScheduleOffAndOtherwiseTheIntervalIsBounded() {
        assertEquals(Duration.ZERO, CheckpointSchedule.validate(Duration.ZERO));
        assertEquals(Duration.ofMinutes(5), CheckpointSchedule.validate(Duration.ofMinutes(5)));
        assertEquals(Duration.ofSeconds(1), CheckpointSchedule.validate(Duration.ofSeconds(1)));
        assertEquals(Duration.ofHours(24), CheckpointSchedule.validate(Duration.ofHours(24)));
        for (Duration bad : new Duration[] {Duration.ofMillis(500), Duration.ofHours(25), Duration.ofSeconds(-5)}) {
            var e = assertThrows(IllegalArgumentException.class, () -> CheckpointSchedule.validate(bad));
            assertTrue(e.getMessage().contains("between 1s and 24h"), e.getMessage());
        }
    }
}
