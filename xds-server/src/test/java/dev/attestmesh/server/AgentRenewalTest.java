package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.AgentState;
import dev.attestmesh.agent.NodeAgent;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AgentRenewalTest {
    @Test
    void agentRenewsAtHalfLifeWithFreshEvidenceAndRewritesItsFiles() throws Exception {
        String policy = """
                policies:
                  - id: default
                    tee: [sim]
                    certificateTtl: 4s
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(ControlPlaneFixture.GOOD);
        try (ControlPlaneFixture f = ControlPlaneFixture.start(policy, Map.of())) {
            NodeAgent agent = f.agent("renewer", ControlPlaneFixture.GOOD);
            List<AgentCredentials> seen = new CopyOnWriteArrayList<>();
            agent.onCredentials(seen::add);
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    agent.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (seen.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            agent.close();
            t.join(5_000);
            assertTrue(seen.size() >= 2, "renewed at least once, saw " + seen.size());
            AgentCredentials first = seen.get(0);
            AgentCredentials second = seen.get(1);
            assertNotEquals(first.leaf().getSerialNumber(), second.leaf().getSerialNumber());
            assertNotEquals(first.claims().getEvidenceSha256(), second.claims().getEvidenceSha256(),
                    "fresh evidence for every renewal");
            assertEquals(first.leaf().getPublicKey(), second.leaf().getPublicKey(), "the node keeps its key");
            assertTrue(Files.readString(agent.files().directory().resolve("cert-chain.pem"))
                    .contains(dev.attestmesh.ca.Pem.certificates(List.of(seen.get(seen.size() - 1).leaf())).strip()
                            .lines().skip(1).findFirst().orElseThrow()));
            assertEquals(AgentState.STOPPED, agent.state());
        }
    }
}
