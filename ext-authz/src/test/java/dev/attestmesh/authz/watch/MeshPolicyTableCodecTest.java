package dev.attestmesh.authz.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.api.v1.MeshPolicyRequirement;
import dev.attestmesh.authz.MeshPolicyTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The mesh policy table on the wire: round trip, canonical order, and refusal of entries that cannot be applied. */
class MeshPolicyTableCodecTest {
    static final String ORDERS = "spiffe://mesh.example/node/orders";
    static final String WEB = "spiffe://mesh.example/node/web";

    static MeshPolicyRequirement entry(String principal, int port, String... ids) {
        return MeshPolicyRequirement.newBuilder().setDestinationPrincipal(principal).setPort(port)
                .addAllPolicyIds(List.of(ids)).build();
    }

    @Test
    void roundTripKeepsPolicyOrderAndEncodesInPrincipalThenPortOrder() {
        MeshPolicyTable table = MeshPolicyTable.builder()
                .require(WEB, 443, List.of("strict"))
                .require(ORDERS, 8444, List.of("strict", "default"))
                .require(ORDERS, 8443, List.of("default")).build();
        List<MeshPolicyRequirement> wire = MeshPolicyTableCodec.encode(table);
        assertEquals(List.of(entry(ORDERS, 8443, "default"), entry(ORDERS, 8444, "strict", "default"),
                entry(WEB, 443, "strict")), wire);
        MeshPolicyTable back = MeshPolicyTableCodec.decode(wire);
        assertEquals(table, back);
        assertEquals(List.of("strict", "default"), back.required(ORDERS, 8444), "mesh config order, not sorted");
        assertEquals(List.of(), back.required(ORDERS, 9999));
        assertEquals(List.of(), back.required("spiffe://mesh.example/node/nobody", 8443));
        assertEquals(3, back.size());
    }

    @Test
    void noEntriesDecodeToTheEmptyTable() {
        assertSame(MeshPolicyTable.EMPTY, MeshPolicyTableCodec.decode(List.of()));
        assertEquals(List.of(), MeshPolicyTableCodec.encode(MeshPolicyTable.EMPTY));
    }

    @Test
    void refusesEntriesThatCannotBeAppliedNamingTheProblem() {
        assertProblem("has port 0, outside 1-65535", entry(ORDERS, 0, "default"));
        assertProblem("has port 65536, outside 1-65535", entry(ORDERS, 65536, "default"));
        assertProblem("has port -1, outside 1-65535", entry(ORDERS, -1, "default")); // uint32 4294967295
        assertProblem("has no destination principal", entry("", 8443, "default"));
        assertProblem("port 8443 lists no policy ID", entry(ORDERS, 8443));
        assertProblem("port 8443 has a blank policy ID", entry(ORDERS, 8443, "default", " "));
        assertProblem("port 8443 repeats a policy ID", entry(ORDERS, 8443, "default", "default"));
        assertProblem(ORDERS + " port 8443 is given twice", entry(ORDERS, 8443, "default"), entry(ORDERS, 8443, "strict"));
    }

    static void assertProblem(String expected, MeshPolicyRequirement... entries) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MeshPolicyTableCodec.decode(List.of(entries)));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
