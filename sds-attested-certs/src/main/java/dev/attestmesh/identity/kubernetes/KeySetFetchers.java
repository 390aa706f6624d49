package dev.attestmesh.identity.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import dev.attestmesh.identity.kubernetes.KubernetesTokenSettings.KeySource;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Turns a {@link KeySource} into a fetcher of the issuer's public keys, each read bounded in size. */
final class KeySetFetchers {
    /** Largest JWK set, discovery document or PEM file read. */
    static final int MAX_DOCUMENT_BYTES = 1024 * 1024;
    private static final int MAX_PEM_KEYS = 64;
    private static final Pattern PEM_PUBLIC_KEY =
            Pattern.compile("-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\\s]+)-----END PUBLIC KEY-----");
    private static final ObjectMapper JSON = new ObjectMapper();

    private KeySetFetchers() {}

    /** A short description of the source, for messages. */
    static String describe(KeySource source, String issuer) {
        return switch (source) {
            case KeySource.JwksFile f -> "JWKS file " + f.file();
            case KeySource.PemFile f -> "PEM file " + f.file();
            case KeySource.JwksUrl u -> "JWKS URL " + BoundedHttp.redacted(u.url());
            case KeySource.OidcDiscovery d -> "OIDC discovery of " + ClaimChecks.sanitize(issuer, 200);
        };
    }

    static IssuerKeys.KeySetFetcher of(KeySource source, String issuer, KubernetesTokenSettings.HttpTimeouts timeouts) {
        return switch (source) {
            case KeySource.JwksFile f -> () -> jwks(readFile(f.file()), "JWKS file " + f.file());
            case KeySource.PemFile f -> () -> pem(readFile(f.file()), f.file());
            case KeySource.JwksUrl u -> {
                BoundedHttp http = new BoundedHttp(u.caBundleFile(), u.bearerTokenFile(), timeouts);
                yield () -> jwks(http.get(u.url(), MAX_DOCUMENT_BYTES), BoundedHttp.redacted(u.url()));
            }
            case KeySource.OidcDiscovery d -> {
                BoundedHttp http = new BoundedHttp(d.caBundleFile(), d.bearerTokenFile(), timeouts);
                yield () -> {
                    URI jwksUri = discoverJwksUri(http, issuer);
                    return jwks(http.get(jwksUri, MAX_DOCUMENT_BYTES), BoundedHttp.redacted(jwksUri));
                };
            }
        };
    }

    private static URI discoverJwksUri(BoundedHttp http, String issuer) throws IOException {
        URI discovery = URI.create(issuer.replaceAll("/+$", "") + "/.well-known/openid-configuration");
        JsonNode doc;
        try {
            doc = JSON.readTree(http.get(discovery, MAX_DOCUMENT_BYTES));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(BoundedHttp.redacted(discovery) + " is not a JSON discovery document");
        }
        if (doc == null || !doc.path("issuer").isTextual() || !doc.path("issuer").asText().equals(issuer)) {
            throw new IOException("the discovery document at " + BoundedHttp.redacted(discovery) + " names issuer '"
                    + ClaimChecks.sanitize(doc == null ? null : doc.path("issuer").asText(null), 200)
                    + "', not the configured one; fix attestmesh.kubernetes.issuer");
        }
        if (!doc.path("jwks_uri").isTextual()) {
            throw new IOException("the discovery document at " + BoundedHttp.redacted(discovery) + " has no jwks_uri");
        }
        URI jwksUri;
        try {
            jwksUri = URI.create(doc.path("jwks_uri").asText());
            KubernetesTokenSettings.requireHttpsOrLoopback("jwks_uri", jwksUri);
        } catch (IllegalArgumentException e) {
            throw new IOException("the discovery document's jwks_uri is not usable: "
                    + ClaimChecks.sanitize(e.getMessage(), 200));
        }
        return jwksUri;
    }

    private static String readFile(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(MAX_DOCUMENT_BYTES + 1);
            if (bytes.length > MAX_DOCUMENT_BYTES) {
                throw new IOException(file + " is larger than " + MAX_DOCUMENT_BYTES + " bytes");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot read " + file + " (" + e.getClass().getSimpleName() + ")", e);
        }
    }

    private static JWKSet jwks(String json, String where) throws IOException {
        JWKSet set;
        try {
            set = JWKSet.parse(json);
        } catch (ParseException e) {
            throw new IOException(where + " is not a JWK set: " + ClaimChecks.sanitize(e.getMessage(), 160));
        }
        if (set.getKeys().isEmpty()) {
            throw new IOException(where + " holds no key");
        }
        if (set.getKeys().stream().anyMatch(JWK::isPrivate)) {
            // A private key in a published key set is a leak; refuse rather than use it.
            throw new IOException(where + " holds a private key; publish public keys only");
        }
        return set;
    }

    private static JWKSet pem(String text, Path file) throws IOException {
        Matcher m = PEM_PUBLIC_KEY.matcher(text);
        List<JWK> keys = new ArrayList<>();
        while (m.find()) {
            if (keys.size() == MAX_PEM_KEYS) {
                throw new IOException(file + " holds more than " + MAX_PEM_KEYS + " public keys");
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(1));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": public key " + (keys.size() + 1) + " is not valid base64");
            }
            keys.add(jwk(publicKey(der, file, keys.size() + 1), file, keys.size() + 1));
        }
        if (keys.isEmpty()) {
            throw new IOException(file + " holds no '-----BEGIN PUBLIC KEY-----' block");
        }
        return new JWKSet(keys);
    }

    private static PublicKey publicKey(byte[] der, Path file, int index) throws IOException {
        for (String alg : List.of("RSA", "EC")) {
            try {
                return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IOException(file + ": public key " + index + " is neither an RSA nor an EC SubjectPublicKeyInfo");
    }

    private static JWK jwk(PublicKey key, Path file, int index) throws IOException {
        if (key instanceof RSAPublicKey rsa) {
            if (rsa.getModulus().bitLength() < 2048) {
                throw new IOException(file + ": RSA key " + index + " is shorter than 2048 bits");
            }
            return new RSAKey.Builder(rsa).build();
        }
        ECPublicKey ec = (ECPublicKey) key;
        Curve curve = Curve.forECParameterSpec(ec.getParams());
        if (!Curve.P_256.equals(curve) && !Curve.P_384.equals(curve)) {
            throw new IOException(file + ": EC key " + index + " is not on P-256 or P-384");
        }
        return new ECKey.Builder(curve, ec).build();
    }
}
