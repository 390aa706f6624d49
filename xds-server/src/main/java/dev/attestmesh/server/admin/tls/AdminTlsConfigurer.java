package dev.attestmesh.server.admin.tls;

import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.http.ssl.ClientAuthentication;
import io.micronaut.http.ssl.ServerSslConfiguration;
import io.micronaut.http.ssl.SslConfiguration;
import jakarta.inject.Singleton;

/**
 * With {@code attestmesh.admin.tls=on}, turns the admin listener into HTTPS on the admin port with
 * {@link AdminCertificateProvider}'s key and trust, TLS 1.2 or 1.3 only, and client certificates requested but
 * not required ({@code want}): operators authenticate with a token or with a listed client certificate
 * ({@code attestmesh.admin.cert-identities}); {@code /health} stays open for probes.
 *
 * <p>Why a listener on the configuration bean rather than {@code micronaut.server.ssl.*} in
 * {@code application.yml}: those keys would also apply with TLS off, and an explicit key store an operator
 * configures under {@code micronaut.server.ssl} must keep working when {@code attestmesh.admin.tls} is off.
 * Only {@code micronaut.server.ssl.enabled} follows {@code attestmesh.admin.tls} in {@code application.yml}:
 * Micronaut creates its TLS builder only when that property is true.
 */
@Singleton
@Requires(condition = AdminTlsCondition.class)
public final class AdminTlsConfigurer implements BeanCreatedEventListener<ServerSslConfiguration> {
    private final int port;

    AdminTlsConfigurer(@Value("${micronaut.server.port:15014}") int port) {
        this.port = port;
    }

    @Override
    public ServerSslConfiguration onCreated(BeanCreatedEvent<ServerSslConfiguration> event) {
        ServerSslConfiguration ssl = event.getBean();
        ssl.setEnabled(true);
        ssl.setPort(port);
        ssl.setKeyName(AdminCertificateProvider.NAME);
        ssl.setTrustName(AdminCertificateProvider.NAME);
        ssl.setClientAuthentication(ClientAuthentication.WANT);
        ssl.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        SslConfiguration.KeyConfiguration key = ssl.getKey();
        if (key == null) {
            key = new SslConfiguration.KeyConfiguration();
            ssl.setKey(key);
        }
        key.setPassword(AdminCertificateProvider.KEY_PASSWORD);
        return ssl;
    }
}
