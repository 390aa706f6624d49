package dev.attestmesh.server.demo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MeshDemoTest {
    @Test
    void demoShowsAllowedRefusedAndRevokedNodesAndSucceeds() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        boolean ok = new MeshDemo(new PrintStream(buf, true, StandardCharsets.UTF_8)).run();
        String out = buf.toString(StandardCharsets.UTF_8);
        assertTrue(ok, out);
        assertTrue(out.contains("payments saw peer spiffe://attestmesh.local/svc/orders: hello from orders"), out);
        assertTrue(out.contains("ALLOWED: node_id=orders"), out);
        assertTrue(out.contains("REFUSED (PERMISSION_DENIED)") && out.contains("no registration grants an identity to node 'rogue'"), out);
        assertTrue(out.contains("node id 'payments' is held by another key"), out);
        assertTrue(out.contains("DENIED: node 'orders' is REVOKED"), out);
    }
}
