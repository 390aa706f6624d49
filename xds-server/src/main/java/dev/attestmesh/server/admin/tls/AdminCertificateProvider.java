package dev.attestmesh.server.admin.tls;

import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.ssl.CertificateProvider;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Sinks;

/**
 * The admin API's TLS key and trust ({@code attestmesh.admin.tls=on}), for Micronaut's HTTPS listener
 * ({@code micronaut.server.ssl.key-name} and {@code trust-name} name this bean; {@link AdminTlsConfigurer}
 * sets them).
 *
 * <p>The key and certificate are the control plane's own serving certificate ({@code ServingCertificate}):
 * issued by the mesh CA, naming {@code attestmesh.server-names} and the reserved URI SAN
 * {@code spiffe://<td>/attestmesh/control-plane}. Each renewal (and each intermediate rotation, which renews
 * it) publishes a new key store, and Micronaut rebuilds its TLS context for the next handshakes. The trust store
 * is the mesh trust bundle, so admin client certificates ({@code attestmesh.admin.cert-identities}) can be
 * verified; it is republished with every renewal so a rotated intermediate is trusted.
 *
 * <p>The key stores exist only in memory under a random per-process password.
 */
@Singleton
@Named(AdminCertificateProvider.NAME)
@Requires(condition = AdminTlsCondition.class)
public final class AdminCertificateProvider implements CertificateProvider {
    /** The provider name the admin listener's SSL configuration refers to. */
    public static final String NAME = "attestmesh-admin";
    private static final String ALIAS = "attestmesh-admin";
    /** Password of the in-memory key store entry; never written anywhere. */
    static final String KEY_PASSWORD = HexFormat.of().formatHex(SecureRandom.getSeed(16));

    private final Sinks.Many<KeyStore> keys = Sinks.many().replay().latest();
    private final Sinks.Many<KeyStore> trust = Sinks.many().replay().latest();

    AdminCertificateProvider(ControlPlane controlPlane) {
        controlPlane.servingCertificate().onChange((key, chain) -> {
            emit(keys, keyStore(key, chain));
            emit(trust, trustStore(controlPlane.trustBundle()));
        });
    }

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public Publisher<KeyStore> getKeyStore() {
        return keys.asFlux();
    }

    @Override
    public Publisher<KeyStore> getTrustStore() {
        return trust.asFlux();
    }

    private static void emit(Sinks.Many<KeyStore> sink, KeyStore store) {
        // Renewals are serialised by ServingCertificate; a concurrent emission is retried, not dropped.
        sink.emitNext(store, Sinks.EmitFailureHandler.busyLooping(java.time.Duration.ofSeconds(2)));
    }

    private static KeyStore keyStore(PrivateKey key, X509Certificate[] chain) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(ALIAS, key, KEY_PASSWORD.toCharArray(), chain);
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the admin API key store: " + e.getMessage(), e);
        }
    }

    private static KeyStore trustStore(List<X509Certificate> bundle) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            for (int i = 0; i < bundle.size(); i++) {
                ks.setCertificateEntry("mesh-ca-" + i, bundle.get(i));
            }
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the admin API trust store: " + e.getMessage(), e);
        }
    }
}
