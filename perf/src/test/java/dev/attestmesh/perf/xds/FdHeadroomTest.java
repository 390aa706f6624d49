package dev.attestmesh.perf.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class FdHeadroomTest {
    private static final String LIMITS = """
            Limit                     Soft Limit           Hard Limit           Units
            Max cpu time              unlimited            unlimited            seconds
            Max open files            20000                20000                files
            Max locked memory         8388608              8388608              bytes
            """;

    @Test
    void readsTheSoftOpenFilesLimit() {
        assertEquals(OptionalLong.of(20000), FdHeadroom.parseSoftLimit(LIMITS));
        assertEquals(OptionalLong.of(Long.MAX_VALUE), FdHeadroom.parseSoftLimit(
                "Max open files            unlimited            unlimited            files\n"));
        assertTrue(FdHeadroom.parseSoftLimit("Max processes 100 100 processes\n").isEmpty());
    }

    @Test
    void refusesALoadThatWouldRunOutOfDescriptorsAndNamesTheNumbers() {
        FdHeadroom h = new FdHeadroom(20000, 150, 20000, 512);
        assertFalse(h.sufficient());
        String why = h.refusal("fleet-0").orElseThrow();
        assertTrue(why.contains("open-files limit 20000"), why);
        assertTrue(why.contains("150 already open"), why);
        assertTrue(why.contains("20000 needed"), why);
        assertTrue(why.contains("662 short"), why);
    }

    @Test
    void acceptsALoadThatFitsWithTheMargin() {
        FdHeadroom h = new FdHeadroom(20000, 150, 19338, 512);
        assertTrue(h.sufficient());
        assertTrue(h.refusal("fleet-0").isEmpty());
        assertFalse(new FdHeadroom(20000, 150, 19339, 512).sufficient());
    }

    @Test
    void measuresThisProcess() throws Exception {
        FdHeadroom h = FdHeadroom.of(ProcessHandle.current().pid(), 10);
        assertTrue(h.open() > 0 && h.limit() >= h.open(), h.toString());
    }
}
