package dev.attestmesh.server.xds;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.xds.XdsCredentialsProvider;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * xDS channel credentials {@value #NAME} for gRPC-java's bootstrap: mTLS to the control plane with the
 * node agent's files. Needed because gRPC's built-in {@code "tls"} type ignores its config and presents
 * no client certificate, while AttestMesh ties every ADS stream to the node's attested certificate.
 * Config keys: {@code certificate_file}, {@code private_key_file}, {@code ca_certificate_file}. Registered
 * through {@code META-INF/services/io.grpc.xds.XdsCredentialsProvider} (test resources).
 */
public final class AgentFilesXdsCredentialsProvider extends XdsCredentialsProvider {
    public static final String NAME = "attestmesh_agent_files";

    @Override
    protected ChannelCredentials newChannelCredentials(Map<String, ?> config) {
        if (config == null) {
            return null; // gRPC treats null as "cannot create": the bootstrap is then rejected
        }
        try {
            return TlsChannelCredentials.newBuilder()
                    .keyManager(file(config, "certificate_file"), file(config, "private_key_file"))
                    .trustManager(file(config, "ca_certificate_file"))
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the node agent's credential files: " + e.getMessage(), e);
        }
    }

    private static File file(Map<String, ?> config, String key) {
        Object v = config.get(key);
        if (!(v instanceof String s) || s.isBlank()) {
            throw new IllegalArgumentException(NAME + " channel_creds config needs '" + key + "' (a file path)");
        }
        return new File(s);
    }

    @Override
    protected String getName() {
        return NAME;
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public int priority() {
        return 5;
    }
}
