package dev.attestmesh.agent.cli;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.device.EvidenceCollectionException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --tee coco} at start: the attestation-agent's socket must be there, and the error names it. */
class AgentCommandCocoTest {
    @TempDir
    Path dir;

    @Test
    void cocoWithoutASocketFailsNamingThePath() {
        Path missing = dir.resolve("attestation-agent.sock");
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> AgentCommand.cocoSource("unix://" + missing));
        assertTrue(e.getMessage().contains("no attestation-agent socket at " + missing), e.getMessage());
        assertTrue(e.getMessage().contains("--aa-addr"), e.getMessage());
    }

    @Test
    void cocoWithTheDefaultAddressNamesTheDefaultPath() {
        EvidenceCollectionException e = assertThrows(EvidenceCollectionException.class,
                () -> AgentCommand.cocoSource("unix:///run/confidential-containers/attestation-agent/attestation-agent.sock"));
        assertTrue(e.getMessage().contains("/run/confidential-containers/attestation-agent/attestation-agent.sock"));
    }

    @Test
    void cocoRefusesANonUnixAddress() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AgentCommand.cocoSource("http://127.0.0.1:8006"));
        assertTrue(e.getMessage().contains("unix:///"), e.getMessage());
    }

    @Test
    void cocoWithASocketIsAccepted() throws Exception {
        Path sock = dir.resolve("aa.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            assertNotNull(AgentCommand.cocoSource("unix://" + sock));
        }
    }
}
