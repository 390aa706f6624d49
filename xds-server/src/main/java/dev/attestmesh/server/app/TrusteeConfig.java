package dev.attestmesh.server.app;

import dev.attestmesh.ca.Pem;
import dev.attestmesh.trustee.AttestationServiceClient;
import dev.attestmesh.trustee.EarTokenVerifier;
import dev.attestmesh.trustee.TrusteeService;
import dev.attestmesh.trustee.TrusteeServices;
import io.micronaut.core.value.PropertyResolver;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads the Trustee attestation services from configuration (docs/trustee.md):
 * <pre>
 * attestmesh.trustee.services=main                     # names, comma-separated
 * attestmesh.trustee.main.address=https://as.example:8080   # or grpcs://as.example:50004 (the AS gRPC API)
 * attestmesh.trustee.main.token-key-file=/etc/attestmesh/as-token.pem   # PEM public key or certificate
 * attestmesh.trustee.main.ca-file=/etc/attestmesh/as-ca.pem             # optional: TLS trust for the AS
 * attestmesh.trustee.timeout=10s  connect-timeout=5s  max-response-bytes=1048576  clock-skew=60s  max-token-age=5m
 * </pre>
 * Every problem stops the start naming its key; no service configured means trustee policies are refused.
 */
final class TrusteeConfig {
    private static final int MAX_KEY_FILE_BYTES = 64 * 1024;

    private TrusteeConfig() {}

    static TrusteeServices from(PropertyResolver config) {
        String names = config.getProperty("attestmesh.trustee.services", String.class).orElse("").strip();
        if (names.isEmpty()) {
            return TrusteeServices.none();
        }
        List<TrusteeService> services = new ArrayList<>();
        for (String raw : names.split(",")) {
            String name = raw.strip();
            if (!name.matches("[a-z0-9][a-z0-9-]{0,31}")) {
                throw new IllegalArgumentException("attestmesh.trustee.services: '" + shorten(name)
                        + "' must be a name of lower-case letters, digits and dashes");
            }
            String prefix = "attestmesh.trustee." + name + ".";
            String address = required(config, prefix + "address");
            URI uri;
            try {
                uri = new URI(address);
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException(prefix + "address: not a URL");
            }
            PublicKey key = tokenKey(prefix + "token-key-file", Path.of(required(config, prefix + "token-key-file")));
            List<X509Certificate> ca = List.of();
            String caFile = config.getProperty(prefix + "ca-file", String.class).orElse("").strip();
            if (!caFile.isEmpty()) {
                try {
                    ca = Pem.parseCertificates(read(prefix + "ca-file", Path.of(caFile)));
                } catch (java.security.cert.CertificateException e) {
                    throw new IllegalArgumentException(prefix + "ca-file: not PEM certificates: " + e.getMessage());
                }
            }
            try {
                services.add(new TrusteeService(uri, key, ca));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(prefix + "address: " + e.getMessage());
            }
        }
        AttestationServiceClient.Limits d = AttestationServiceClient.Limits.defaults();
        AttestationServiceClient.Limits limits = new AttestationServiceClient.Limits(
                config.getProperty("attestmesh.trustee.connect-timeout", Duration.class).orElse(d.connectTimeout()),
                config.getProperty("attestmesh.trustee.timeout", Duration.class).orElse(d.requestTimeout()),
                config.getProperty("attestmesh.trustee.max-response-bytes", Integer.class).orElse(d.maxResponseBytes()));
        EarTokenVerifier.Timing t = EarTokenVerifier.Timing.defaults();
        EarTokenVerifier.Timing timing = new EarTokenVerifier.Timing(
                config.getProperty("attestmesh.trustee.clock-skew", Duration.class).orElse(t.skew()),
                config.getProperty("attestmesh.trustee.max-token-age", Duration.class).orElse(t.maxAge()));
        return TrusteeServices.of(services, limits, timing);
    }

    /** A PEM {@code PUBLIC KEY} (SubjectPublicKeyInfo) or the first certificate of a PEM chain. */
    static PublicKey tokenKey(String key, Path file) {
        String pem = read(key, file);
        try {
            if (pem.contains("-----BEGIN PUBLIC KEY-----")) {
                String b64 = pem.substring(pem.indexOf("-----BEGIN PUBLIC KEY-----") + 26,
                        pem.indexOf("-----END PUBLIC KEY-----")).replaceAll("\\s", "");
                byte[] der = Base64.getDecoder().decode(b64);
                for (String alg : new String[] {"EC", "RSA"}) {
                    try {
                        return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(der));
                    } catch (java.security.spec.InvalidKeySpecException e) {
                        // try the other algorithm
                    }
                }
                throw new IllegalArgumentException(key + ": the public key is neither EC nor RSA");
            }
            return Pem.parseCertificates(pem).getFirst().getPublicKey();
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage() != null && iae.getMessage().startsWith(key)) {
                throw iae;
            }
            throw new IllegalArgumentException(key + ": " + file + " holds no PEM public key or certificate");
        }
    }

    private static String read(String key, Path file) {
        try {
            if (Files.size(file) > MAX_KEY_FILE_BYTES) {
                throw new IllegalArgumentException(key + ": " + file + " is larger than " + MAX_KEY_FILE_BYTES + " bytes");
            }
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(key + ": cannot read " + file + ": " + e.getMessage());
        }
    }

    private static String required(PropertyResolver config, String key) {
        String v = config.getProperty(key, String.class).orElse("").strip();
        if (v.isEmpty()) {
            throw new IllegalArgumentException(key + " is required for each attestmesh.trustee.services entry");
        }
        return v;
    }

    private static String shorten(String s) {
        String t = s.length() > 32 ? s.substring(0, 32) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
