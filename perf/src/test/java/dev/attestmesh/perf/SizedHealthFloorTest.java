package dev.attestmesh.perf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.health.v1.HealthCheckRequest;
import org.junit.jupiter.api.Test;

/** The padded floor of {@code perf/run extauthz-external --floor sized}: exactly Check's size, still a whole-server check. */
class SizedHealthFloorTest {
    @Test
    void paddedHealthRequestsHaveTheExactSizeAndAskForTheWholeServer() throws Exception {
        for (int size : new int[] {8, 100, 127, 128, 129, 1531, 2600, 16_384, 16_385}) {
            byte[] encoded = ExtauthzExternalHarness.sizedHealthRequest(size);
            assertEquals(size, encoded.length);
            HealthCheckRequest parsed = HealthCheckRequest.parseFrom(encoded);
            assertEquals("", parsed.getService(), "answered for the whole server: SERVING");
            assertTrue(parsed.getUnknownFields().hasField(1000));
        }
    }
}
