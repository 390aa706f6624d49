package dev.attestmesh.agent.coco;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.attestmesh.agent.coco.proto.GetEvidenceRequest;
import dev.attestmesh.agent.coco.proto.GetEvidenceResponse;
import dev.attestmesh.agent.coco.proto.GetTeeTypeRequest;
import dev.attestmesh.agent.coco.proto.GetTeeTypeResponse;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The Confidential Containers attestation-agent's ttrpc API ({@code attestation_agent.AttestationAgentService}),
 * the two methods the node agent needs: {@code GetEvidence} (runtime data in, the agent's evidence JSON out)
 * and {@code GetTeeType}.
 */
public final class AttestationAgentClient {
    /** TNG's and CoCo's default address. */
    public static final String DEFAULT_ADDRESS =
            "unix:///run/confidential-containers/attestation-agent/attestation-agent.sock";
    static final String SERVICE = "attestation_agent.AttestationAgentService";
    /** Report data is at most 64 bytes on every TEE the agent supports. */
    public static final int MAX_RUNTIME_DATA = 64;

    private final TtrpcClient ttrpc;
    private final Duration timeout;

    public AttestationAgentClient(Path socket, Duration timeout) {
        this.ttrpc = new TtrpcClient(socket);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    public Path socket() {
        return ttrpc.socket();
    }

    /**
     * Parses {@code unix:///absolute/path} (or an absolute path).
     *
     * @throws IllegalArgumentException naming the accepted form
     */
    public static Path socketPath(String address) {
        String a = address == null ? "" : address.strip();
        if (a.startsWith("unix://")) {
            URI uri;
            try {
                uri = URI.create(a);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--aa-addr '" + TtrpcClient.printable(a, 200) + "' is not a URI; "
                        + "expected unix:///absolute/path/to/attestation-agent.sock");
            }
            if (uri.getRawAuthority() != null || uri.getPath() == null || !uri.getPath().startsWith("/")) {
                throw new IllegalArgumentException("--aa-addr '" + TtrpcClient.printable(a, 200) + "' must be "
                        + "unix:///absolute/path (three slashes)");
            }
            a = uri.getPath();
        }
        if (!a.startsWith("/") || a.length() > 4096) {
            throw new IllegalArgumentException("--aa-addr '" + TtrpcClient.printable(a, 200) + "' must be "
                    + "unix:///absolute/path/to/attestation-agent.sock (only Unix sockets are supported)");
        }
        return Path.of(a);
    }

    /** {@code GetEvidence}: the attestation-agent's evidence JSON over {@code runtimeData} (at most 64 bytes). */
    public byte[] getEvidence(byte[] runtimeData) throws TtrpcException {
        if (runtimeData.length > MAX_RUNTIME_DATA) {
            throw new IllegalArgumentException("runtime data is at most " + MAX_RUNTIME_DATA + " bytes");
        }
        byte[] payload = ttrpc.call(SERVICE, "GetEvidence", GetEvidenceRequest.newBuilder()
                .setRuntimeData(ByteString.copyFrom(runtimeData)).build().toByteArray(), timeout);
        try {
            return GetEvidenceResponse.parseFrom(payload).getEvidence().toByteArray();
        } catch (InvalidProtocolBufferException e) {
            throw new TtrpcException(TtrpcException.Kind.MALFORMED, "GetEvidence answer is not a GetEvidenceResponse: "
                    + e.getMessage(), e);
        }
    }

    /** {@code GetTeeType}: what the attestation-agent says it runs on (informational only: never trusted). */
    public String getTeeType() throws TtrpcException {
        byte[] payload = ttrpc.call(SERVICE, "GetTeeType", GetTeeTypeRequest.getDefaultInstance().toByteArray(),
                timeout);
        try {
            return TtrpcClient.printable(GetTeeTypeResponse.parseFrom(payload).getTee(), 64);
        } catch (InvalidProtocolBufferException e) {
            throw new TtrpcException(TtrpcException.Kind.MALFORMED, "GetTeeType answer is not a GetTeeTypeResponse: "
                    + e.getMessage(), e);
        }
    }
}
