package dev.attestmesh.agent.coco;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.coco.TtrpcException.Kind;
import dev.attestmesh.agent.coco.proto.Response;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ttrpc client against a ttrpc server on a real Unix socket, good and malformed answers. */
class TtrpcClientTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final byte[] EVIDENCE = "{\"quote\":\"AAAA\"}".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    private TtrpcException failure(FakeAttestationAgent.Behaviour b, Duration timeout) throws Exception {
        try (FakeAttestationAgent aa = FakeAttestationAgent.behaving(dir, b)) {
            return assertThrows(TtrpcException.class,
                    () -> new AttestationAgentClient(aa.socket, timeout).getEvidence(new byte[64]));
        }
    }

    @Test
    void getEvidenceSendsTheRuntimeDataAsAUnaryRequestOnAnOddStream() throws Exception {
        byte[] runtimeData = new byte[64];
        Arrays.fill(runtimeData, (byte) 0x5a);
        try (FakeAttestationAgent aa = FakeAttestationAgent.answering(dir, EVIDENCE)) {
            AttestationAgentClient client = new AttestationAgentClient(aa.socket, TIMEOUT);
            assertArrayEquals(EVIDENCE, client.getEvidence(runtimeData));
            assertEquals("tdx", client.getTeeType());
            FakeAttestationAgent.Received r = aa.received.getFirst();
            assertEquals("attestation_agent.AttestationAgentService", r.request().getService());
            assertEquals("GetEvidence", r.request().getMethod());
            assertEquals(1, r.type(), "Request frame");
            assertEquals(0, r.flags(), "unary: no flags");
            assertEquals(1, r.streamId() & 1, "client streams are odd");
            assertEquals(TIMEOUT.toNanos(), r.request().getTimeoutNano());
            assertArrayEquals(runtimeData, r.runtimeData());
            assertTrue(aa.received.get(1).streamId() != r.streamId(), "a new stream per call");
        }
    }

    @Test
    void refusesAFrameAnnouncingMoreThanFourMebibytes() throws Exception {
        TtrpcException e = failure(r -> FakeAttestationAgent.frame((4 << 20) + 1, r.streamId(), 2, 0, new byte[0]),
                TIMEOUT);
        assertEquals(Kind.OVERSIZED, e.kind());
        assertTrue(e.getMessage().contains("4194305"), e.getMessage());
    }

    @Test
    void refusesAFrameWhoseReservedFirstByteIsSet() throws Exception {
        assertEquals(Kind.OVERSIZED, failure(r -> FakeAttestationAgent.frame(0x01000000, r.streamId(), 2, 0,
                new byte[0]), TIMEOUT).kind());
    }

    @Test
    void refusesADataFrameForAUnaryCall() throws Exception {
        TtrpcException e = failure(r -> FakeAttestationAgent.frame(0, r.streamId(), 3, 1, new byte[0]), TIMEOUT);
        assertEquals(Kind.WRONG_TYPE, e.kind());
        assertTrue(e.getMessage().contains("type 3"), e.getMessage());
    }

    @Test
    void refusesAResponseWithFlags() throws Exception {
        assertEquals(Kind.WRONG_TYPE, failure(r -> FakeAttestationAgent.frame(0, r.streamId(), 2, 4, new byte[0]),
                TIMEOUT).kind());
    }

    @Test
    void refusesAResponseOnAnotherStream() throws Exception {
        TtrpcException e = failure(r -> FakeAttestationAgent.response(r.streamId() + 2, Response.getDefaultInstance()),
                TIMEOUT);
        assertEquals(Kind.WRONG_STREAM, e.kind());
    }

    @Test
    void refusesATruncatedHeader() throws Exception {
        TtrpcException e = failure(r -> new byte[] {0, 0, 0, 0, 0, 0}, TIMEOUT);
        assertEquals(Kind.TRUNCATED, e.kind());
        assertTrue(e.getMessage().contains("6 of 10 bytes of the frame header"), e.getMessage());
    }

    @Test
    void refusesAServerClosingMidFrame() throws Exception {
        TtrpcException e = failure(r -> FakeAttestationAgent.frame(100, r.streamId(), 2, 0, new byte[20]), TIMEOUT);
        assertEquals(Kind.TRUNCATED, e.kind());
        assertTrue(e.getMessage().contains("20 of 100 bytes of the frame data"), e.getMessage());
    }

    @Test
    void refusesAServerClosingWithoutAnswer() throws Exception {
        assertEquals(Kind.TRUNCATED, failure(r -> null, TIMEOUT).kind());
    }

    @Test
    void reportsANonOkStatusWithItsCodeAndMessage() throws Exception {
        TtrpcException e = failure(r -> FakeAttestationAgent.response(r.streamId(), Response.newBuilder()
                .setStatus(com.google.rpc.Status.newBuilder().setCode(13).setMessage("TDX Attester: quote\nfailed"))
                .build()), TIMEOUT);
        assertEquals(Kind.STATUS, e.kind());
        assertTrue(e.getMessage().contains("status 13 (INTERNAL): TDX Attester: quote?failed"), e.getMessage());
    }

    @Test
    void refusesGarbageWhereAResponseMessageBelongs() throws Exception {
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
        assertEquals(Kind.MALFORMED, failure(r -> FakeAttestationAgent.frame(garbage.length, r.streamId(), 2, 0,
                garbage), TIMEOUT).kind());
    }

    @Test
    void refusesGarbageWhereTheGetEvidenceResponseBelongs() throws Exception {
        byte[] garbage = {0x0a, 0x7f, 0x01};
        assertEquals(Kind.MALFORMED, failure(r -> FakeAttestationAgent.response(r.streamId(), Response.newBuilder()
                .setPayload(com.google.protobuf.ByteString.copyFrom(garbage)).build()), TIMEOUT).kind());
    }

    @Test
    void timesOutWhenTheServerDoesNotAnswer() throws Exception {
        long start = System.nanoTime();
        TtrpcException e = failure(r -> {
            try {
                Thread.sleep(1500);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            return null;
        }, Duration.ofMillis(300));
        assertEquals(Kind.TIMEOUT, e.kind());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }

    @Test
    void namesTheMissingSocket() {
        Path missing = dir.resolve("no-such.sock");
        TtrpcException e = assertThrows(TtrpcException.class,
                () -> new AttestationAgentClient(missing, TIMEOUT).getEvidence(new byte[64]));
        assertEquals(Kind.CONNECT, e.kind());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void refusesAFileThatIsNotASocket() throws Exception {
        Path file = java.nio.file.Files.writeString(dir.resolve("plain"), "x");
        assertEquals(Kind.CONNECT, assertThrows(TtrpcException.class,
                () -> new AttestationAgentClient(file, TIMEOUT).getEvidence(new byte[64])).kind());
    }

    @Test
    void parsesOnlyUnixAddresses() {
        assertEquals(Path.of("/run/confidential-containers/attestation-agent/attestation-agent.sock"),
                AttestationAgentClient.socketPath(AttestationAgentClient.DEFAULT_ADDRESS));
        assertThrows(IllegalArgumentException.class, () -> AttestationAgentClient.socketPath("tcp://127.0.0.1:50002"));
        assertThrows(IllegalArgumentException.class, () -> AttestationAgentClient.socketPath("unix://relative/x.sock"));
        assertThrows(IllegalArgumentException.class, () -> AttestationAgentClient.socketPath("x.sock"));
    }
}
