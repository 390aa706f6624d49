package dev.attestmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.attestmesh.agent.cli.AgentMain;
import dev.attestmesh.identity.ControlPlaneTrustManager;
import dev.attestmesh.ca.Pem;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * "The cluster, as processes": what {@code helm template} and the Istio injection template produce, run without
 * Kubernetes. The chart is rendered with helm-java; the control plane starts as a separate process with the
 * rendered args and environment, every path in them mapped onto a directory that holds what the pod's volume
 * would hold (the rendered ConfigMap's keys, the CA key Secret, emptyDirs), ports remapped to loopback. Two node
 * agents start as processes with the injection template's args, each with a projected-token file signed by a
 * local issuer whose JWKS the rendered config carries, in dev mode with the simulated TEE. Then, as Istio's proxy:
 * SDS over each agent's Unix socket for {@code default} and {@code ROOTCA}, and ext_authz Checks shaped as Istio
 * sends them (principal only, no certificate) from the destination's proxy: the attested workload is allowed, an
 * unregistered principal denied, and a revoked workload denied on its next connection; the same through the
 * rendered standalone ext_authz replica (its own attested agent, the operator-issued replica certificate), verified
 * as the shipped DestinationRule pins it. A pod whose token another key signed gets no certificate.
 *
 * <p>How an image runs its entrypoint is in one place, {@link #launch}.
 */
class ChartAsProcessesTest {
    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).resolve("../istio-integration").normalize();
    private static final Path CHART = ROOT.resolve("charts/attestmesh");
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final String GOOD = "a1".repeat(48);
    private static final String TRUST_DOMAIN = "cluster.local";
    private static final String PAYMENTS = "spiffe://cluster.local/ns/prod/sa/payments";
    private static final String ORDERS = "spiffe://cluster.local/ns/prod/sa/orders";
    private static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    private static final Pattern GRPC_LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern ADMIN_LISTENING = Pattern.compile("admin API on https?://127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path tmp;

    private final List<Process> processes = new ArrayList<>();
    /** A hosts file mapping the control plane's Service names to 127.0.0.1 (written once they are rendered). */
    private Path clusterDns;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stopProcesses() throws InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The images' entrypoints (attestmesh/control-plane, attestmesh/node-agent), as processes on this class path. */
    private enum Image { CONTROL_PLANE, NODE_AGENT, EXT_AUTHZ }

    /**
     * Starts what {@code image} runs with the container's {@code args} and {@code env}. The control-plane and
     * ext-authz images' entrypoint is the CLI (the chart's args start with the subcommand, server or authz); the
     * node-agent image's entrypoint is the agent's own main class (the injection template's args are its options
     * only). This is the one place to change when the images run differently.
     */
    private Process launch(Image image, List<String> args, Map<String, String> env, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx192m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED",
                // The cluster's DNS: the Service names resolve to loopback, so TLS checks them as in the cluster.
                "-Djdk.net.hosts.file=" + clusterDns,
                "-cp", System.getProperty("java.class.path"),
                // The images' main classes: the node-agent image runs the agent's own main (its options only).
                image == Image.NODE_AGENT ? AgentMain.class.getName() : AttestMeshCli.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        // Only what the pod spec sets: nothing of this machine's ATTESTMESH_* configuration leaks in.
        pb.environment().keySet().removeIf(k -> k.startsWith("ATTESTMESH_"));
        pb.environment().putAll(env);
        pb.environment().put("ATTESTMESH_TEST_LOG_LEVEL", "INFO"); // logback-test.xml is on this class path
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void renderedControlPlaneAndInjectedAgentsServeIstioAndDecideItsChecks() throws Exception {
        assumeTrue(Epoll.isAvailable(), "Unix domain sockets need Linux epoll");
        ECKey issuer = new ECKeyGenerator(Curve.P_256).keyID("local-issuer-1").generate();

        // 1. helm template with an operator's values: simulated TEE (dev), two registrations, a mesh, local JWKS.
        Path values = Files.writeString(tmp.resolve("values.yaml"), """
                devMode: true
                config:
                  policies:
                    - {id: default, tee: [sim], reference: {sim: {measurement: ["%s"]}}}
                  mesh:
                    services:
                      - name: orders
                        members: {registrations: [orders]}
                        ingress: [{port: 8443, appPort: 8080, policies: [default]}]
                      - name: payments
                        members: {registrations: [payments]}
                        egress: [{port: 7001, service: orders}]
                registrations:
                  - {id: payments, spiffeId: "%s", policies: [default],
                     selectors: {kubernetes: {namespace: prod, serviceAccount: payments}}}
                  - {id: orders, spiffeId: "%s", policies: [default],
                     selectors: {kubernetes: {namespace: prod, serviceAccount: orders}}}
                kubernetes:
                  oidcDiscovery: false
                  jwks: '%s'
                extAuthz:
                  enabled: true
                  replicaCertificate: {existingSecret: attestmesh-ext-authz-replica}
                """.formatted(GOOD, PAYMENTS, ORDERS, new JWKSet(issuer).toPublicJWKSet().toString()));
        List<JsonNode> documents = documents(new Helm(CHART).template().withName("attestmesh")
                .withNamespace("attestmesh-system").withKubeVersion(HelmChartServerConfigTest.KUBE_VERSION)
                .withValuesFile(values).call());
        RenderedControlPlane rendered = startRenderedControlPlane(documents, "cp");
        Process cp = rendered.process();
        Path cpLog = rendered.log();
        int grpcPort = rendered.grpcPort();
        int adminPort = rendered.adminPort();
        List<String> serverNames = rendered.serverNames();
        Map<String, Path> volumes = rendered.volumes();
        assertEquals("127.0.0.1", rendered.env().get("ATTESTMESH_ADMIN_BIND"), "admin.tls off keeps the admin API on loopback");
        String admin = "http://127.0.0.1:" + adminPort;
        await(() -> status(admin + "/health") == 200, Duration.ofSeconds(30), "/health", cp, cpLog);
        Path data = volumes.get("data");
        Path bundle = data.resolve("ca-bundle.pem");
        assertTrue(Files.exists(bundle), "the control plane wrote its trust bundle into the data volume");

        // 3. Two injected pods: the template's agent with its volumes, the pod's token, the published bundle.
        JsonNode template = YAML.readTree(YAML.readTree(ROOT.resolve("istio/injection-template.yaml").toFile())
                .at("/spec/values/sidecarInjectorWebhook/templates/attestmesh").asText()).path("spec");
        Pod payments = startPod("payments", template, issuer, bundle, serverNames, grpcPort);
        Pod orders = startPod("orders", template, issuer, bundle, serverNames, grpcPort);
        // A pod whose token claims prod/payments but is signed by another key under the issuer's key id.
        ECKey forger = new ECKeyGenerator(Curve.P_256).keyID(issuer.getKeyID()).generate();
        Pod intruder = startPod("payments-forged", "payments", template, forger, bundle, serverNames, grpcPort);

        // 4. istio-agent's SDS requests on each pod's socket: default (chain + inline key) and ROOTCA.
        Sds paymentsSds = sds(payments);
        Sds ordersSds = sds(orders);
        assertEquals(List.of(PAYMENTS), uriSans(paymentsSds.chain().getFirst()));
        assertEquals(List.of(ORDERS), uriSans(ordersSds.chain().getFirst()));
        assertEquals(Pem.parseCertificates(Files.readString(bundle)).getLast(), paymentsSds.roots().getLast(),
                "ROOTCA is the mesh root the control plane published");
        assertEquals(paymentsSds.chain().getFirst().getPublicKey(), publicKeyOf(paymentsSds.key(), paymentsSds.chain()),
                "the inline key belongs to the certificate");
        // The forged token earns nothing: the control plane refuses its signature, the agent gives up (Kubernetes
        // restarts the sidecar, which is refused again) and its socket goes away without ever serving a certificate.
        assertTrue(intruder.process().waitFor(30, TimeUnit.SECONDS), "the refused agent exits");
        assertTrue(intruder.process().exitValue() != 0, tailUnchecked(intruder.log()));
        String refusal = tailUnchecked(intruder.log());
        assertTrue(refusal.contains("attestation refused") && refusal.contains("signature check"), refusal);
        assertFalse(refusal.contains(" attested: "), refusal);
        assertFalse(Files.exists(intruder.socket()), "no socket left for istio-agent to use");

        // 5. ext_authz as Istio calls it: from the destination's proxy (orders, with its attested certificate),
        //    principals only, no certificate, no policy header; the mesh config says what orders:8443 requires.
        // Istio's proxy dials the provider's Service name (meshConfig extensionProviders), checked against the
        // control plane's certificate; here that name, at the loopback port.
        String target = providerHost() + ":" + grpcPort;
        assertTrue(serverNames.contains(providerHost()), providerHost() + " vs " + serverNames);
        CheckResponse allowed = check(target, bundle, ordersSds, PAYMENTS, ORDERS, 8443);
        assertEquals(Status.Code.OK.value(), allowed.getStatus().getCode(), allowed.getStatus().getMessage());
        CheckResponse unregistered = check(target, bundle, ordersSds, "spiffe://cluster.local/ns/prod/sa/intruder", ORDERS,
                8443);
        assertEquals(Status.Code.PERMISSION_DENIED.value(), unregistered.getStatus().getCode());

        // 6. The standalone ext_authz replica as rendered (the production profile's provider): its agent earns the
        //    identity the chart registered, it watches the control plane with the operator-issued replica
        //    certificate, and answers Istio's Checks, verified as the shipped DestinationRule pins it.
        String token = Files.readString(data.resolve("admin-token")).strip();
        Replica replica = startReplica(documents, issuer, bundle, serverNames, grpcPort, admin, token);
        // Until its first registry snapshot the replica knows no attested caller and refuses the call itself.
        await(() -> replicaDecision(replica, bundle, ordersSds, PAYMENTS) == Status.Code.OK.value(),
                Duration.ofSeconds(20), "the replica allowing the attested workload", replica.process(), replica.log());
        assertEquals(Status.Code.PERMISSION_DENIED.value(), checkReplica(replica, bundle, ordersSds,
                "spiffe://cluster.local/ns/prod/sa/intruder").getStatus().getCode());

        // 7. Revoke the payments pod through the admin API: its next connection is denied.
        HttpResponse<String> revoked = http.send(HttpRequest.newBuilder(URI.create(admin + "/api/v1/revocations"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"kind\":\"node\",\"value\":\"" + payments.uid()
                        + "\",\"reason\":\"compromised pod\"}")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, revoked.statusCode(), revoked.body());
        CheckResponse denied = check(target, bundle, ordersSds, PAYMENTS, ORDERS, 8443);
        assertEquals(Status.Code.PERMISSION_DENIED.value(), denied.getStatus().getCode());
        assertTrue(denied.getStatus().getMessage().contains(payments.uid()), denied.getStatus().getMessage());
        // The replica hears of it through its registry watch.
        await(() -> replicaDecision(replica, bundle, ordersSds, PAYMENTS) == Status.Code.PERMISSION_DENIED.value(),
                Duration.ofSeconds(10), "the replica denying the revoked workload", replica.process(), replica.log());
        assertTrue(cp.isAlive() && payments.process().isAlive() && orders.process().isAlive() && replica.process().isAlive());
    }

    /**
     * {@code controlPlane.admin.tls=true}, as the production profile sets it: the rendered control plane serves its
     * admin API over HTTPS with a certificate naming the Service's DNS names and the reserved control-plane SPIFFE ID,
     * the rendered probes' paths answer over that TLS (liveness and readiness as the kubelet asks), and the API behind
     * it still wants a token.
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void renderedAdminTlsServesTheProbesAndTheServiceNames() throws Exception {
        ECKey issuer = new ECKeyGenerator(Curve.P_256).keyID("local-issuer-1").generate();
        Path values = Files.writeString(tmp.resolve("values-tls.yaml"), """
                devMode: true
                controlPlane: {admin: {tls: true}}
                config:
                  policies:
                    - {id: default, tee: [sim], reference: {sim: {measurement: ["%s"]}}}
                registrations:
                  - {id: payments, spiffeId: "%s", policies: [default],
                     selectors: {kubernetes: {namespace: prod, serviceAccount: payments}}}
                kubernetes:
                  oidcDiscovery: false
                  jwks: '%s'
                """.formatted(GOOD, PAYMENTS, new JWKSet(issuer).toPublicJWKSet().toString()));
        List<JsonNode> documents = documents(new Helm(CHART).template().withName("attestmesh")
                .withNamespace("attestmesh-system").withKubeVersion(HelmChartServerConfigTest.KUBE_VERSION)
                .withValuesFile(values).call());
        RenderedControlPlane cp = startRenderedControlPlane(documents, "cp-tls");
        assertEquals("on", cp.env().get("ATTESTMESH_ADMIN_TLS"));
        assertEquals("0.0.0.0", cp.env().get("ATTESTMESH_ADMIN_BIND"), "reachable through its Service (here remapped)");
        assertTrue(Files.readString(cp.log()).contains("admin API on https://"), tail(cp.log()));
        Path bundle = cp.volumes().get("data").resolve("ca-bundle.pem");
        await(() -> Files.exists(bundle), Duration.ofSeconds(30), "trust bundle", cp.process(), cp.log());
        List<X509Certificate> roots = Pem.parseCertificates(Files.readString(bundle));

        // The kubelet's probes, as rendered: HTTPS on the admin port, at the paths the server serves.
        for (String probe : List.of("livenessProbe", "readinessProbe")) {
            JsonNode get = cp.container().path(probe).path("httpGet");
            assertEquals("HTTPS", get.path("scheme").asText(), probe + ": " + cp.container().path(probe));
            String path = get.path("path").asText();
            await(() -> httpsStatus(cp.serverNames().getLast(), cp.adminPort(), path, roots) == 200,
                    Duration.ofSeconds(30), probe + " " + path, cp.process(), cp.log());
        }
        // Every Service name verifies as the host name; the certificate carries the control plane's SPIFFE ID.
        for (String name : cp.serverNames()) {
            assertEquals(200, httpsStatus(name, cp.adminPort(), "/health/live", roots), name);
        }
        X509Certificate served = httpsPeer(cp.serverNames().getFirst(), cp.adminPort(), roots);
        assertEquals(List.of("spiffe://cluster.local/attestmesh/control-plane"), uriSans(served));
        // TLS is not authentication: the API itself still wants a token.
        assertEquals(401, httpsStatus(cp.serverNames().getFirst(), cp.adminPort(), "/api/v1/nodes", roots));
        // A name the certificate does not carry fails host name verification.
        assertEquals(-1, httpsStatus("attestmesh.other-namespace.svc", cp.adminPort(), "/health/live", roots));
    }

    /** The HTTP status of {@code GET path} over TLS to 127.0.0.1:port verified as {@code host}; -1 when TLS fails. */
    private static int httpsStatus(String host, int port, String path, List<X509Certificate> roots) {
        try (javax.net.ssl.SSLSocket socket = tlsTo(host, port, roots)) {
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
            return status == null ? -1 : Integer.parseInt(status.split(" ")[1]);
        } catch (IOException | java.security.GeneralSecurityException e) {
            return -1;
        }
    }

    private static X509Certificate httpsPeer(String host, int port, List<X509Certificate> roots) throws Exception {
        try (javax.net.ssl.SSLSocket socket = tlsTo(host, port, roots)) {
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }

    /** A TLS connection to 127.0.0.1:port that sends {@code host} as SNI and verifies it as an HTTPS client does. */
    private static javax.net.ssl.SSLSocket tlsTo(String host, int port, List<X509Certificate> roots)
            throws IOException, java.security.GeneralSecurityException {
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (int i = 0; i < roots.size(); i++) {
            trust.setCertificateEntry("root-" + i, roots.get(i));
        }
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        java.net.Socket plain = new java.net.Socket();
        plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
        plain.setSoTimeout(5_000);
        javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket(plain, host, port, true);
        javax.net.ssl.SSLParameters params = socket.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(params);
        return socket;
    }

    /** The control plane a rendering describes, started as its container would run. */
    private record RenderedControlPlane(Process process, Path log, int grpcPort, int adminPort, Map<String, Path> volumes,
            List<String> serverNames, Map<String, String> env, JsonNode container) {}

    /**
     * Starts the rendered control-plane Deployment's container as a process: each volume a directory holding what
     * Kubernetes would put there, the container's literal environment with paths mapped into those directories, its
     * args, and its ports remapped to free loopback ports. The Service names the certificate carries resolve to
     * 127.0.0.1 through {@link #clusterDns}.
     */
    private RenderedControlPlane startRenderedControlPlane(List<JsonNode> documents, String name) throws Exception {
        JsonNode deployment = named(documents, "Deployment", "attestmesh");
        JsonNode podSpec = deployment.at("/spec/template/spec");
        JsonNode container = podSpec.at("/containers/0");
        assertTrue(container.path("command").isMissingNode(), "the image's entrypoint runs");
        Path cpRoot = Files.createDirectories(tmp.resolve(name));
        Map<String, Path> volumes = new HashMap<>();
        for (JsonNode volume : podSpec.path("volumes")) {
            String volumeName = volume.path("name").asText();
            Path dir = Files.createDirectories(cpRoot.resolve(volumeName));
            volumes.put(volumeName, dir);
            if (volume.has("configMap")) {
                JsonNode data = configMap(documents, volume.at("/configMap/name").asText()).path("data");
                for (var key : (Iterable<Map.Entry<String, JsonNode>>) data::fields) {
                    Files.writeString(dir.resolve(key.getKey()), key.getValue().asText());
                }
            } else if (volume.has("secret")) {
                // The CA encryption-key Secret is created out of band (kubectl create secret); the values name it.
                assertEquals("attestmesh-ca-encryption-key", volume.at("/secret/secretName").asText());
                Files.writeString(dir.resolve("encryption-key"), Base64.getEncoder().encodeToString(UUID.randomUUID()
                        .toString().getBytes()));
            } else {
                assertTrue(volume.has("emptyDir") || volume.has("persistentVolumeClaim"), volume.toString());
            }
        }
        PathMap cpPaths = new PathMap(container, volumes);
        Map<String, String> cpEnv = new LinkedHashMap<>();
        for (JsonNode variable : container.path("env")) {
            assertTrue(variable.has("value"), "only literal values in this profile: " + variable);
            cpEnv.put(variable.path("name").asText(), cpPaths.map(variable.path("value").asText()));
        }
        Map<String, String> rendered = Map.copyOf(cpEnv);
        List<String> serverNames = List.of(cpEnv.get("ATTESTMESH_SERVER_NAMES").split(","));
        clusterDns = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 " + String.join(" ", serverNames) + "\n");
        // Ports remapped to loopback: free ports picked by the process, read back from its log.
        cpEnv.put("ATTESTMESH_GRPC_BIND", "127.0.0.1");
        cpEnv.put("ATTESTMESH_GRPC_PORT", "0");
        cpEnv.put("ATTESTMESH_ADMIN_BIND", "127.0.0.1");
        cpEnv.put("ATTESTMESH_ADMIN_PORT", "0");
        List<String> cpArgs = new ArrayList<>();
        container.path("args").forEach(a -> cpArgs.add(cpPaths.map(a.asText())));
        assertEquals("server", cpArgs.getFirst());
        Path cpLog = tmp.resolve(name + ".log");
        Process cp = launch(Image.CONTROL_PLANE, cpArgs, cpEnv, cpLog);
        int grpcPort = Integer.parseInt(awaitLog(cp, cpLog, GRPC_LISTENING).group(1));
        int adminPort = Integer.parseInt(awaitLog(cp, cpLog, ADMIN_LISTENING).group(1));
        return new RenderedControlPlane(cp, cpLog, grpcPort, adminPort, volumes, serverNames, rendered, container);
    }

    private record Pod(String name, String uid, Process process, Path socket, Path log) {}

    private record Replica(Process process, Path log, int port, String pinnedIdentity, String authority) {}

    /**
     * The rendered ext_authz Deployment's pod: the operator issues the replica certificate (its Secret), the native
     * sidecar agent attests the pod (simulated TEE, the pod's token) and writes the serving certificate, then the
     * replica starts with the rendered args, its port on loopback.
     */
    private Replica startReplica(List<JsonNode> documents, ECKey issuer, Path bundle, List<String> serverNames,
            int grpcPort, String admin, String adminToken) throws Exception {
        JsonNode deployment = named(documents, "Deployment", "attestmesh-ext-authz");
        JsonNode pod = deployment.at("/spec/template/spec");
        String serviceAccount = pod.path("serviceAccountName").asText();
        String uid = UUID.randomUUID().toString();
        Path root = Files.createDirectories(tmp.resolve("ext-authz"));
        Map<String, Path> volumes = new HashMap<>();
        for (JsonNode volume : pod.path("volumes")) {
            String name = volume.path("name").asText();
            Path dir = Files.createDirectories(root.resolve(name));
            volumes.put(name, dir);
            if (volume.has("configMap")) {
                assertEquals("attestmesh-ca-bundle", volume.at("/configMap/name").asText());
                Files.copy(bundle, dir.resolve("ca-bundle.pem"));
            } else if (volume.has("secret")) {
                // What the operator puts into the Secret: attestmesh ca issue-client --replica <extAuthz.replicaName>.
                assertEquals("attestmesh-ext-authz-replica", volume.at("/secret/secretName").asText());
                int exit = new picocli.CommandLine(new AttestMeshCli()).execute("ca", "issue-client", "--replica",
                        "ext-authz", "--out", dir.toString(), "--admin-url", admin, "--token", adminToken);
                assertEquals(0, exit, "attestmesh ca issue-client --replica ext-authz");
            } else if (volume.has("projected")) {
                JsonNode source = volume.at("/projected/sources/0/serviceAccountToken");
                assertEquals("attestmesh", source.path("audience").asText());
                Files.writeString(dir.resolve(source.path("path").asText()), projectedToken(issuer,
                        deployment.at("/metadata/namespace").asText(), serviceAccount, uid,
                        source.path("expirationSeconds").asLong()));
            } else {
                assertTrue(volume.has("emptyDir") || volume.has("hostPath"), volume.toString());
            }
        }
        JsonNode agent = pod.at("/initContainers/0");
        PathMap agentPaths = new PathMap(agent, volumes);
        List<String> agentArgs = new ArrayList<>();
        for (JsonNode a : agent.path("args")) {
            agentArgs.addAll(remapAgentArg(a.asText(), agentPaths, serverNames, grpcPort));
        }
        Path agentLog = tmp.resolve("ext-authz-agent.log");
        Process agentProcess = launch(Image.NODE_AGENT, agentArgs, Map.of(), agentLog);
        Path servingChain = volumes.get(agentPaths.volumeOf("/var/run/attestmesh")).resolve("cert-chain.pem");
        // The agent's startup probe: test -s cert-chain.pem.
        await(() -> Files.exists(servingChain) && servingChain.toFile().length() > 0, Duration.ofSeconds(40),
                "the ext_authz pod's certificate", agentProcess, agentLog);

        JsonNode container = pod.at("/containers/0");
        PathMap paths = new PathMap(container, volumes);
        List<String> args = new ArrayList<>();
        for (JsonNode a : container.path("args")) {
            String arg = a.asText();
            if (arg.startsWith("--control-plane=")) {
                String host = arg.substring(arg.indexOf('=') + 1, arg.lastIndexOf(':'));
                assertTrue(serverNames.contains(host), host + " is not in the serving certificate " + serverNames);
                arg = "--control-plane=" + host + ":" + grpcPort;
            } else if (arg.startsWith("--bind=")) {
                arg = "--bind=127.0.0.1";
            } else if (arg.startsWith("--port=")) {
                arg = "--port=0";
            } else {
                arg = paths.map(arg);
            }
            args.add(arg);
        }
        assertEquals("authz", args.getFirst());
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode variable : container.path("env")) {
            // The downward API gives the pod's name.
            assertEquals("metadata.name", variable.at("/valueFrom/fieldRef/fieldPath").asText(), variable.toString());
            env.put(variable.path("name").asText(), "attestmesh-ext-authz-5c7d9-q2w3e");
        }
        Path log = tmp.resolve("ext-authz.log");
        Process replica = launch(Image.EXT_AUTHZ, args, env, log);
        int port = Integer.parseInt(awaitLog(replica, log, Pattern.compile("serving Check on 127\\.0\\.0\\.1:(\\d+) \\(TLS\\)"))
                .group(1));
        JsonNode rule = YAML.readTree(ROOT.resolve("istio/destination-rule-ext-authz.yaml").toFile());
        assertEquals(deployment.at("/spec/template/spec/containers/0/ports/0/containerPort").asInt(),
                rule.at("/spec/trafficPolicy/portLevelSettings/0/port/number").asInt());
        return new Replica(replica, log, port, rule.at("/spec/trafficPolicy/portLevelSettings/0/tls/subjectAltNames/0").asText(),
                rule.at("/spec/host").asText());
    }

    /**
     * A Check to the replica as Istio's proxy makes it under destination-rule-ext-authz.yaml: ISTIO_MUTUAL with the
     * caller's workload certificate, the server verified against the mesh bundle and the pinned SPIFFE ID
     * (subjectAltNames), not a host name.
     */
    private static CheckResponse checkReplica(Replica replica, Path bundle, Sds caller, String source) {
        try {
            ManagedChannel ch = NettyChannelBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                            replica.port()))
                    .overrideAuthority(replica.authority())
                    .sslContext(GrpcSslContexts.forClient()
                            .trustManager(new PinnedSpiffeTrustManager(Pem.parseCertificates(Files.readString(bundle)),
                                    replica.pinnedIdentity()))
                            .keyManager(caller.key(), caller.chain().toArray(X509Certificate[]::new)).build())
                    .build();
            return istioCheck(ch, source, ORDERS, 8443);
        } catch (IOException | java.security.cert.CertificateException e) {
            throw new AssertionError(e);
        }
    }

    /** The Check's decision code, or -1 while the call itself is refused (the replica has not synced yet). */
    private static int replicaDecision(Replica replica, Path bundle, Sds caller, String source) {
        try {
            return checkReplica(replica, bundle, caller, source).getStatus().getCode();
        } catch (io.grpc.StatusRuntimeException e) {
            return -1;
        }
    }

    /** PKIX to the mesh bundle, then exactly the pinned URI SAN: what Envoy does with match_subject_alt_names. */
    private static final class PinnedSpiffeTrustManager extends javax.net.ssl.X509ExtendedTrustManager {
        private final javax.net.ssl.X509TrustManager pkix;
        private final String pinned;

        PinnedSpiffeTrustManager(List<X509Certificate> bundle, String pinned) {
            this.pinned = pinned;
            try {
                java.security.KeyStore roots = java.security.KeyStore.getInstance("PKCS12");
                roots.load(null, null);
                for (int i = 0; i < bundle.size(); i++) {
                    roots.setCertificateEntry("ca" + i, bundle.get(i));
                }
                javax.net.ssl.TrustManagerFactory f = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
                f.init(roots);
                this.pkix = (javax.net.ssl.X509TrustManager) f.getTrustManagers()[0];
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        private void check(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
            pkix.checkServerTrusted(chain, authType);
            try {
                if (!uriSans(chain[0]).equals(List.of(pinned))) {
                    throw new java.security.cert.CertificateException("server is " + uriSans(chain[0]) + ", not " + pinned);
                }
            } catch (java.security.cert.CertificateException e) {
                throw e;
            } catch (Exception e) {
                throw new java.security.cert.CertificateException(e);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
                throws java.security.cert.CertificateException {
            check(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
                throws java.security.cert.CertificateException {
            check(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            check(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("client side only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("client side only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("client side only");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }
    }

    /** One arg of the agent container: the Service name kept with the port remapped, the TEE simulated, paths mapped. */
    private static List<String> remapAgentArg(String arg, PathMap paths, List<String> serverNames, int grpcPort) {
        if (arg.startsWith("--control-plane=")) {
            // The Service name stays (resolved to loopback, checked against the serving certificate); only the port
            // is remapped.
            String host = arg.substring(arg.indexOf('=') + 1, arg.lastIndexOf(':'));
            assertTrue(serverNames.contains(host), host + " is not in the serving certificate " + serverNames);
            return List.of("--control-plane=" + host + ":" + grpcPort);
        }
        if (arg.equals("--tee=auto")) {
            // dev mode: the simulated TEE stands in for the pod's
            return List.of("--sim-measurement=" + GOOD, "--tee=sim");
        }
        return List.of(paths.map(arg));
    }

    private record Sds(List<X509Certificate> chain, PrivateKey key, List<X509Certificate> roots) {}

    /** One pod with the injected agent: its volumes as directories, its token, its args with the TEE simulated. */
    private Pod startPod(String serviceAccount, JsonNode template, ECKey issuer, Path bundle, List<String> serverNames,
            int grpcPort) throws Exception {
        return startPod(serviceAccount, serviceAccount, template, issuer, bundle, serverNames, grpcPort);
    }

    private Pod startPod(String podName, String serviceAccount, JsonNode template, ECKey issuer, Path bundle,
            List<String> serverNames, int grpcPort) throws Exception {
        String uid = UUID.randomUUID().toString();
        Path root = Files.createDirectories(tmp.resolve(podName));
        JsonNode agent = template.at("/initContainers/0");
        assertEquals("attestmesh-agent", agent.path("name").asText());
        Map<String, Path> volumes = new HashMap<>();
        for (JsonNode volume : template.path("volumes")) {
            String name = volume.path("name").asText();
            Path dir = Files.createDirectories(root.resolve(name.replace("attestmesh-", "")));
            volumes.put(name, dir);
            if (volume.has("configMap")) {
                // The bundle ConfigMap in the workload namespace (published by the control plane or kubectl).
                assertEquals("attestmesh-ca-bundle", volume.at("/configMap/name").asText());
                Files.copy(bundle, dir.resolve("ca-bundle.pem"));
            } else if (volume.has("projected")) {
                JsonNode source = volume.at("/projected/sources/0/serviceAccountToken");
                assertEquals("attestmesh", source.path("audience").asText());
                Files.writeString(dir.resolve(source.path("path").asText()), projectedToken(issuer, "prod", serviceAccount,
                        uid, source.path("expirationSeconds").asLong()));
            } else {
                // emptyDirs; the TEE report interface (unused by the simulated TEE) is an empty directory here.
                assertTrue(volume.has("emptyDir") || volume.has("hostPath"), volume.toString());
            }
        }
        PathMap paths = new PathMap(agent, volumes);
        List<String> args = new ArrayList<>();
        String socket = null;
        for (JsonNode a : agent.path("args")) {
            for (String arg : remapAgentArg(a.asText(), paths, serverNames, grpcPort)) {
                if (arg.startsWith("--sds-socket=")) {
                    socket = arg.substring(arg.indexOf('=') + 1);
                }
                args.add(arg);
            }
        }
        assertTrue(socket != null, "the template names the SDS socket");
        Path log = tmp.resolve(podName + "-agent.log");
        Process p = launch(Image.NODE_AGENT, args, Map.of(), log);
        Path socketPath = Path.of(socket);
        // The template's startup probe: test -S <socket>.
        await(() -> Files.exists(socketPath) && Files.isReadable(socketPath), Duration.ofSeconds(40),
                podName + " agent socket", p, log);
        return new Pod(podName, uid, p, socketPath, log);
    }

    /** A token shaped as the kubelet projects it for pod {@code uid} of service account {@code ns}/{@code sa}. */
    private static String projectedToken(ECKey issuer, String ns, String sa, String uid, long lifetimeSeconds)
            throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer("https://kubernetes.default.svc.cluster.local")
                .audience(List.of("attestmesh"))
                .subject("system:serviceaccount:" + ns + ":" + sa)
                .issueTime(Date.from(now)).notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(lifetimeSeconds)))
                .claim("kubernetes.io", Map.of("namespace", ns,
                        "pod", Map.of("name", sa + "-7d9f8-x2x4q", "uid", uid),
                        "serviceaccount", Map.of("name", sa, "uid", UUID.randomUUID().toString())))
                .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(issuer.getKeyID()).build(), claims);
        jwt.sign(new ECDSASigner(issuer));
        return jwt.serialize();
    }

    /** What istio-agent does at the proxy's start: one SDS stream on the socket asking for default and ROOTCA. */
    private static Sds sds(Pod pod) throws Exception {
        Map<String, Secret> secrets = secrets(pod, Duration.ofSeconds(40));
        assertEquals(List.of("ROOTCA", "default"), secrets.keySet().stream().sorted().toList(),
                () -> pod.name() + ": " + tailUnchecked(pod.log()));
        Secret def = secrets.get("default");
        String keyPem = inline(def.getTlsCertificate().getPrivateKey());
        assertFalse(keyPem.isEmpty(), "Istio needs the private key inline");
        return new Sds(Pem.parseCertificates(inline(def.getTlsCertificate().getCertificateChain())),
                pkcs8(keyPem), Pem.parseCertificates(inline(secrets.get("ROOTCA").getValidationContext().getTrustedCa())));
    }

    /** The secrets the pod's socket answers within {@code limit}, by name. */
    private static Map<String, Secret> secrets(Pod pod, Duration limit) throws Exception {
        EpollEventLoopGroup group = new EpollEventLoopGroup(1);
        ManagedChannel ch = NettyChannelBuilder.forAddress(new DomainSocketAddress(pod.socket().toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
        try {
            LinkedBlockingQueue<Object> responses = new LinkedBlockingQueue<>();
            StreamObserver<DiscoveryRequest> requests = SecretDiscoveryServiceGrpc.newStub(ch).streamSecrets(
                    new StreamObserver<>() {
                        @Override
                        public void onNext(DiscoveryResponse value) {
                            responses.add(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                            responses.add(t);
                        }

                        @Override
                        public void onCompleted() {}
                    });
            requests.onNext(DiscoveryRequest.newBuilder()
                    .setNode(Node.newBuilder().setId("sidecar~10.1.2.3~" + pod.name() + "-7d9f8-x2x4q.prod~prod.svc.cluster.local"))
                    .setTypeUrl(SECRET_TYPE).addResourceNames("default").addResourceNames("ROOTCA").build());
            Map<String, Secret> secrets = new HashMap<>();
            long deadline = System.nanoTime() + limit.toNanos();
            while (secrets.size() < 2 && System.nanoTime() < deadline) {
                Object next = responses.poll(100, TimeUnit.MILLISECONDS);
                if (next instanceof Throwable t) {
                    throw new AssertionError("SDS stream of " + pod.name() + " failed", t);
                }
                if (next instanceof DiscoveryResponse r) {
                    for (var any : r.getResourcesList()) {
                        Secret secret = any.unpack(Secret.class);
                        secrets.put(secret.getName(), secret);
                    }
                }
            }
            requests.onCompleted();
            return secrets;
        } finally {
            ch.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** A Check as Istio's generated network filter sends it: principals and the destination port, nothing else. */
    private static CheckResponse check(String target, Path bundle, Sds caller, String source, String destination, int port)
            throws Exception {
        int colon = target.lastIndexOf(':');
        ManagedChannel ch = NettyChannelBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                        Integer.parseInt(target.substring(colon + 1))))
                .overrideAuthority(target)
                .sslContext(GrpcSslContexts.forClient()
                        .trustManager(ControlPlaneTrustManager.pinning(Pem.parseCertificates(Files.readString(bundle))))
                        .keyManager(caller.key(), caller.chain().toArray(X509Certificate[]::new)).build())
                .build();
        return istioCheck(ch, source, destination, port);
    }

    /** Sends the Check Istio's network filter makes (principals and the destination port only) on {@code ch}, then closes it. */
    private static CheckResponse istioCheck(ManagedChannel ch, String source, String destination, int port) {
        try {
            return AuthorizationGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                            .setSource(AttributeContext.Peer.newBuilder().setPrincipal(source)
                                    .setAddress(address("10.1.2.3", 40000)))
                            .setDestination(AttributeContext.Peer.newBuilder().setPrincipal(destination)
                                    .setAddress(address("10.1.2.4", port)))).build());
        } finally {
            ch.shutdownNow();
        }
    }

    /** The host of Istio's extension provider as shipped (istio/meshconfig-extension-provider.yaml). */
    private static String providerHost() throws IOException {
        return YAML.readTree(ROOT.resolve("istio/meshconfig-extension-provider.yaml").toFile())
                .at("/spec/meshConfig/extensionProviders/0/envoyExtAuthzGrpc/service").asText();
    }

    private static Address address(String ip, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port)).build();
    }

    /** An inline data source as Envoy reads it (inline_string or inline_bytes); a file name would fail here. */
    private static String inline(DataSource source) {
        return switch (source.getSpecifierCase()) {
            case INLINE_STRING -> source.getInlineString();
            case INLINE_BYTES -> source.getInlineBytes().toStringUtf8();
            default -> throw new AssertionError("not inline (Istio's proxy needs the material inline): " + source);
        };
    }

    private static PrivateKey pkcs8(String pem) throws Exception {
        String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
    }

    /** The public key matching {@code key}, found among the chain (proves key and leaf belong together). */
    private static java.security.PublicKey publicKeyOf(PrivateKey key, List<X509Certificate> chain) throws Exception {
        java.security.Signature signer = java.security.Signature.getInstance("SHA256withECDSA");
        signer.initSign(key);
        byte[] data = "attestmesh".getBytes();
        signer.update(data);
        byte[] signature = signer.sign();
        for (X509Certificate c : chain) {
            java.security.Signature verifier = java.security.Signature.getInstance("SHA256withECDSA");
            try {
                verifier.initVerify(c.getPublicKey());
                verifier.update(data);
                if (verifier.verify(signature)) {
                    return c.getPublicKey();
                }
            } catch (java.security.GeneralSecurityException e) {
                // not an EC key of this curve
            }
        }
        throw new AssertionError("no certificate of the chain holds the inline key's public key");
    }

    private static List<String> uriSans(X509Certificate c) throws Exception {
        List<String> uris = new ArrayList<>();
        if (c.getSubjectAlternativeNames() != null) {
            for (List<?> san : c.getSubjectAlternativeNames()) {
                if (((Integer) san.get(0)) == 6) {
                    uris.add((String) san.get(1));
                }
            }
        }
        return uris;
    }

    /** Container paths to the directories standing in for the volumes mounted there (longest mount first). */
    private static final class PathMap {
        private final Map<String, Path> mounts = new LinkedHashMap<>();
        private final Map<String, String> names = new LinkedHashMap<>();

        PathMap(JsonNode container, Map<String, Path> volumes) {
            List<JsonNode> list = new ArrayList<>();
            container.path("volumeMounts").forEach(list::add);
            list.sort(Comparator.comparingInt((JsonNode m) -> m.path("mountPath").asText().length()).reversed());
            for (JsonNode m : list) {
                Path dir = volumes.get(m.path("name").asText());
                assertTrue(dir != null, "mount of an undeclared volume: " + m);
                mounts.put(m.path("mountPath").asText(), dir);
                names.put(m.path("mountPath").asText(), m.path("name").asText());
            }
        }

        /** The directory standing in for the volume mounted exactly at {@code mountPath}, by volume name. */
        String volumeOf(String mountPath) {
            for (var e : names.entrySet()) {
                if (e.getKey().equals(mountPath)) {
                    return e.getValue();
                }
            }
            throw new AssertionError("nothing mounted at " + mountPath);
        }

        /** {@code value} (an option or variable) with its container path, if any, mapped onto the host. */
        String map(String value) {
            int eq = value.indexOf('=');
            String prefix = value.startsWith("--") && eq > 0 ? value.substring(0, eq + 1) : "";
            String path = value.substring(prefix.length());
            for (var m : mounts.entrySet()) {
                if (path.equals(m.getKey()) || path.startsWith(m.getKey() + "/")) {
                    return prefix + m.getValue() + path.substring(m.getKey().length());
                }
            }
            return value;
        }
    }

    private static JsonNode configMap(List<JsonNode> documents, String name) {
        return documents.stream().filter(d -> d.path("kind").asText().equals("ConfigMap")
                && d.at("/metadata/name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("ConfigMap " + name + " is not rendered"));
    }

    private static JsonNode named(List<JsonNode> documents, String kind, String name) {
        List<JsonNode> matching = documents.stream().filter(d -> d.path("kind").asText().equals(kind)
                && d.at("/metadata/name").asText().equals(name)).toList();
        assertEquals(1, matching.size(), kind + " " + name);
        return matching.getFirst();
    }

    private static List<JsonNode> documents(String yaml) throws IOException {
        return HelmChartServerConfigTest.documents(yaml);
    }

    private int status(String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static Matcher awaitLog(Process p, Path log, Pattern pattern) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
        while (System.nanoTime() < deadline) {
            Matcher m = pattern.matcher(Files.exists(log) ? Files.readString(log) : "");
            if (m.find()) {
                return m;
            }
            if (!p.isAlive()) {
                throw new AssertionError("process exited " + p.exitValue() + " before '" + pattern + "':\n" + tail(log));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + pattern + "' within 45 s:\n" + tail(log));
    }

    private static void await(BooleanSupplier condition, Duration limit, String what, Process p, Path log)
            throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError(what + ": process exited " + p.exitValue() + ":\n" + tail(log));
            }
            Thread.sleep(100);
        }
        throw new AssertionError(what + " not within " + limit + ":\n" + tail(log));
    }

    private static String tailUnchecked(Path log) {
        try {
            return tail(log);
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "(no log)";
        }
        String text = Files.readString(log);
        return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
    }
}
