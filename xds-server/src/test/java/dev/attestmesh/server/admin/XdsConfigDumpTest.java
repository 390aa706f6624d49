package dev.attestmesh.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.GenericSecret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsSessionTicketKeys;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class XdsConfigDumpTest {
    static final String KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

    @Test
    void inlinePrivateKeysPasswordsGenericSecretsAndTicketKeysAreRedacted() {
        Secret inlineKey = Secret.newBuilder().setName("inline").setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString("-----BEGIN CERTIFICATE-----\nAAAA\n"))
                .setPrivateKey(DataSource.newBuilder().setInlineString(KEY))
                .setPassword(DataSource.newBuilder().setInlineString("hunter2"))).build();
        Secret env = Secret.newBuilder().setName("env").setTlsCertificate(TlsCertificate.newBuilder()
                .setPrivateKey(DataSource.newBuilder().setEnvironmentVariable("NODE_KEY"))).build();
        Secret generic = Secret.newBuilder().setName("generic").setGenericSecret(GenericSecret.newBuilder()
                .setSecret(DataSource.newBuilder().setInlineBytes(ByteString.copyFromUtf8("s3cr3t-token")))).build();
        Secret tickets = Secret.newBuilder().setName("tickets").setSessionTicketKeys(TlsSessionTicketKeys.newBuilder()
                .addKeys(DataSource.newBuilder().setInlineBytes(ByteString.copyFromUtf8("ticket-key-material")))).build();
        Snapshot s = Snapshot.create(List.of(), List.of(), List.of(), List.of(), List.of(inlineKey, env, generic, tickets), "1");

        String json = new XdsConfigDump().render("n1", Optional.of(s)).orElseThrow();

        assertFalse(json.contains("PRIVATE KEY"), json);
        assertFalse(json.contains("hunter2"), json);
        assertFalse(json.contains("NODE_KEY"), json);
        // base64 of the secrets, as proto3 JSON prints bytes
        assertFalse(json.contains(java.util.Base64.getEncoder().encodeToString("s3cr3t-token".getBytes())), json);
        assertFalse(json.contains(java.util.Base64.getEncoder().encodeToString("ticket-key-material".getBytes())), json);
        assertTrue(json.contains("BEGIN CERTIFICATE"), "certificates are public and shown");
        assertEquals(5, json.split("\\[redacted\\]", -1).length - 1, json);
    }

    @Test
    void fileNamesAreShownAndAMissingSnapshotRendersNothing() {
        Secret byFile = Secret.newBuilder().setName("default").setTlsCertificate(TlsCertificate.newBuilder()
                .setPrivateKey(DataSource.newBuilder().setFilename("/var/run/attestmesh/key.pem"))).build();
        Snapshot s = Snapshot.create(List.of(), List.of(), List.of(), List.of(), List.of(byFile), "7");
        String json = new XdsConfigDump().render("n1", Optional.of(s)).orElseThrow();
        assertTrue(json.contains("/var/run/attestmesh/key.pem"), json);
        assertFalse(json.contains("[redacted]"), json);
        assertTrue(new XdsConfigDump().render("n1", Optional.empty()).isEmpty());
    }
}
