package dev.attestmesh.server.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.mesh.MeshService.Protocol;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MeshConfigParserTest {
    static final Set<String> POLICIES = Set.of("default", "production");

    static final String VALID = """
            services:
              - name: orders
                members:
                  nodes: [orders-1]
                  spiffeIds: [spiffe://attestmesh.local/svc/orders]
                addresses:
                  orders-1: 10.0.0.5
                ingress:
                  - port: 8443
                    appPort: 8080
                    protocol: http
                    policies: [default, production]
              - name: payments
                mutual: true
                members:
                  registrations: [payments]
                  metadata: {app: payments}
                ingress:
                  - port: 9443
                    appPort: 9080
                egress:
                  - port: 7001
                    service: orders
                    policies: [production]
              - name: reports
                proxyless: true
                members:
                  nodes: [reports-1]
                egress:
                  - service: orders
                    servicePort: 8443
            """;

    @Test
    void parsesServicesMembersPortsAndDefaults() throws Exception {
        MeshConfig c = MeshConfigParser.parse(VALID, POLICIES);
        assertEquals(3, c.services().size());
        MeshService orders = c.service("orders").orElseThrow();
        assertTrue(orders.mutual(), "mutual defaults to true");
        assertFalse(orders.proxyless());
        assertEquals(Protocol.HTTP, orders.ingress().getFirst().protocol());
        assertEquals(List.of("default", "production"), orders.ingress().getFirst().policies());
        assertEquals("10.0.0.5", orders.addresses().get("orders-1"));
        MeshService payments = c.service("payments").orElseThrow();
        assertEquals(Protocol.TCP, payments.ingress().getFirst().protocol(), "protocol defaults to tcp");
        assertEquals(8443, payments.egress().getFirst().servicePort(), "omitted servicePort = the upstream's only port");
        assertTrue(c.service("reports").orElseThrow().proxyless());
    }

    static final AttestedNodeIdentity ORDERS = new AttestedNodeIdentity("spiffe://attestmesh.local/svc/orders", "orders");
    static final AttestedNodeIdentity PAYMENTS = new AttestedNodeIdentity("spiffe://attestmesh.local/svc/payments",
            "payments");
    static final AttestedNodeIdentity OTHER = new AttestedNodeIdentity("spiffe://attestmesh.local/svc/other", "other");

    @Test
    void membershipSelectsByNodeIdSpiffeIdOrRegistrationAndClusterOrMetadataOnlyNarrow() throws Exception {
        MeshConfig c = MeshConfigParser.parse(VALID, POLICIES);
        assertEquals(List.of("orders"), names(c.servicesOf("orders-1", AttestedNodeIdentity.UNKNOWN,
                EnvoyNodeIdentity.UNKNOWN)));
        assertEquals(List.of("orders"), names(c.servicesOf("o-9", ORDERS, EnvoyNodeIdentity.UNKNOWN)));
        assertEquals(List.of("payments"), names(c.servicesOf("p-1", PAYMENTS,
                new EnvoyNodeIdentity("other", Map.of("app", "payments", "zone", "a")))));
        assertEquals(List.of(), names(c.servicesOf("p-1", PAYMENTS, new EnvoyNodeIdentity("", Map.of("app", "pay")))),
                "metadata narrows the registration selector");
    }

    @Test
    void aNodeCannotJoinAServiceByWhatItSaysAboutItself() throws Exception {
        MeshConfig c = MeshConfigParser.parse(VALID, POLICIES);
        assertEquals(List.of(), names(c.servicesOf("p-9", OTHER,
                new EnvoyNodeIdentity("orders", Map.of("app", "payments")))));
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse("""
                services:
                  - name: web
                    members: {cluster: web, metadata: {app: web}}
                """, POLICIES));
        assertTrue(e.problems().toString().contains("can only narrow an identity selector"), e.problems().toString());
        MeshConfigException bad = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse("""
                services:
                  - name: web
                    members: {spiffeIds: ["spiffe://Bad/x"], registrations: ["Not An Id"]}
                """, POLICIES));
        assertEquals(2, bad.problems().size(), bad.problems().toString());
    }

    @Test
    void requiredPoliciesAreThoseOfTheNodesIngressPort() throws Exception {
        MeshConfig c = MeshConfigParser.parse(VALID, POLICIES);
        AttestedNodeIdentity u = AttestedNodeIdentity.UNKNOWN;
        assertEquals(List.of("default", "production"), c.requiredPolicies("orders-1", u, EnvoyNodeIdentity.UNKNOWN, 8443));
        assertEquals(List.of(), c.requiredPolicies("orders-1", u, EnvoyNodeIdentity.UNKNOWN, 9443));
        assertEquals(List.of(), c.requiredPolicies("stranger", u, EnvoyNodeIdentity.UNKNOWN, 8443));
    }

    @Test
    void requiredPoliciesByNodeHoldsExactlyTheNonEmptyAnswersForEverySelectorKind() throws Exception {
        MeshConfig c = MeshConfigParser.parse(VALID + """
                  - name: audit
                    members: {nodes: [audit-1, audit-2], cluster: audit}
                    ingress:
                      - {port: 8443, appPort: 8081, policies: [production, default]}
                      - {port: 9443, appPort: 9081, policies: [production]}
                """, POLICIES);
        Map<String, EnvoyNodeIdentity> presented = Map.of(
                "orders-1", new EnvoyNodeIdentity("elsewhere", Map.of()),
                "o-9", new EnvoyNodeIdentity("orders", Map.of()),
                "p-1", new EnvoyNodeIdentity("other", Map.of("app", "payments")),
                "audit-1", new EnvoyNodeIdentity("audit", Map.of()),
                "audit-2", new EnvoyNodeIdentity("elsewhere", Map.of()),
                "idle", new EnvoyNodeIdentity("none", Map.of("app", "idle")));
        Map<String, AttestedNodeIdentity> attested = Map.of("o-9", ORDERS, "p-1", PAYMENTS, "o-8", ORDERS);
        Map<String, Map<Integer, List<String>>> byNode = c.requiredPoliciesByNode(presented, attested);
        assertEquals(Map.of(
                "orders-1", Map.of(8443, List.of("default", "production")),
                "o-9", Map.of(8443, List.of("default", "production")),
                "o-8", Map.of(8443, List.of("default", "production")),
                "audit-1", Map.of(8443, List.of("production", "default"), 9443, List.of("production"))), byNode,
                "by id, by SPIFFE ID (connected or not), by id narrowed by cluster; payments' ingress and idle "
                        + "nodes require nothing");
        for (String node : List.of("orders-1", "o-9", "o-8", "p-1", "idle", "audit-1", "audit-2", "reports-1",
                "stranger")) {
            EnvoyNodeIdentity identity = presented.getOrDefault(node, EnvoyNodeIdentity.UNKNOWN);
            AttestedNodeIdentity proven = attested.getOrDefault(node, AttestedNodeIdentity.UNKNOWN);
            for (int port : List.of(8443, 9443, 7001, 1)) {
                assertEquals(c.requiredPolicies(node, proven, identity, port),
                        byNode.getOrDefault(node, Map.of()).getOrDefault(port, List.of()), node + " port " + port);
            }
        }
        assertEquals(Map.of(), MeshConfig.EMPTY.requiredPoliciesByNode(presented, attested));
    }

    @Test
    void aMembershipWithAnEmptyClusterSelectorIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MeshService.Membership(Set.of("n1"), Set.of(), Set.of(), Optional.of(""), Map.of()));
        assertTrue(e.getMessage().contains("cluster selector must not be empty"), e.getMessage());
    }

    @Test
    void listsEveryProblemWithItsPathAndRejectsTheWholeDocument() {
        String bad = """
                services:
                  - name: orders
                    colour: blue
                    members: {nodes: [a]}
                    ingress:
                      - port: 70000
                        appPort: 8080
                        policies: [gold]
                      - port: 8443
                        appPort: 8443
                  - name: payments
                    members: {nodes: [a]}
                    ingress:
                      - port: 8443
                        appPort: 9000
                        protocol: udp
                    egress:
                      - port: 7001
                        service: nowhere
                      - port: 7001
                        service: orders
                        servicePort: 1234
                  - name: Bad_Name
                    members: {}
                """;
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(bad, POLICIES));
        List<String> p = e.problems();
        assertHas(p, "services[0].colour: unknown field");
        assertHas(p, "services[0].ingress[0].port: must be a port number 1..65535, got 70000");
        assertHas(p, "services[0].ingress[0].policies[0]: unknown policy ID 'gold'");
        assertHas(p, "services[0].ingress[1].appPort: 8443 is also the listen port of services[0].ingress[1].port");
        assertHas(p, "services[1].ingress[0].protocol: must be tcp or http");
        assertHas(p, "services[1].egress[0].service: no service is named 'nowhere'");
        assertHas(p, "services[1].egress[1].port: port 7001 is already used by services[1].egress[0].port");
        assertHas(p, "services[2].name: 'Bad_Name' must be a DNS label");
        assertHas(p, "services[2].members: selects no node");
        assertTrue(p.size() >= 9, "all problems are listed: " + p);
    }

    @Test
    void reportsPortClashesBetweenServicesSharingANodeAndUnknownUpstreamPorts() {
        String bad = """
                services:
                  - name: a
                    members: {nodes: [n1, n2]}
                    ingress: [{port: 8443, appPort: 8080}, {port: 8444, appPort: 8081}]
                  - name: b
                    members: {nodes: [n2]}
                    ingress: [{port: 8443, appPort: 9090}]
                    egress: [{port: 7001, service: a}, {port: 7002, service: a, servicePort: 9999}]
                """;
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(bad, POLICIES));
        assertHas(e.problems(), "services[1].ingress[0].port: port 8443 clashes on node 'n2' with services[0].ingress[0].port");
        assertHas(e.problems(), "services[1].egress[0].servicePort: required because service 'a' has several ingress ports");
        assertHas(e.problems(), "services[1].egress[1].servicePort: service 'a' has no ingress port 9999");
    }

    @Test
    void rejectsCallerPoliciesOnANonMutualService() {
        String bad = """
                services:
                  - name: a
                    mutual: false
                    members: {nodes: [n1]}
                    ingress: [{port: 8443, appPort: 8080, policies: [default]}]
                """;
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(bad, POLICIES));
        assertHas(e.problems(), "services[0].ingress[0].policies: callers cannot be checked when the service has mutual: false");
    }

    @Test
    void rejectsAProxylessClientOfATcpPort() {
        String bad = """
                services:
                  - name: a
                    members: {nodes: [n1]}
                    ingress: [{port: 8443, appPort: 8080}]
                  - name: g
                    proxyless: true
                    members: {nodes: [g1]}
                    egress: [{service: a}]
                """;
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(bad, POLICIES));
        assertEquals(1, e.problems().size(), e.problems().toString());
        assertHas(e.problems(), "services[1].egress[0].service: a proxyless gRPC client can only call an http ingress port");
    }

    @Test
    void rejectsTwoProxylessEgressEntriesToOneService() {
        String bad = """
                services:
                  - name: a
                    members: {nodes: [n1]}
                    ingress: [{port: 8443, appPort: 8080, protocol: http}, {port: 8444, appPort: 8081, protocol: http}]
                  - name: g
                    proxyless: true
                    members: {nodes: [g1]}
                    egress: [{service: a, servicePort: 8443}, {service: a, servicePort: 8444}]
                """;
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(bad, POLICIES));
        assertEquals(1, e.problems().size(), e.problems().toString());
        assertHas(e.problems(), "services[1].egress[1].service: a proxyless service calls 'a' through one target");
    }

    @Test
    void anInvalidUpstreamIsReportedOnceNotAsAnUnknownService() {
        String bad = """
                services:
                  - name: a
                    members: {nodes: [n1]}
                    ingress: [{port: 0, appPort: 8080}]
                  - name: b
                    members: {nodes: [n2]}
                    egress: [{port: 7000, service: a}]
                """;
        MeshConfigException e = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(bad, POLICIES));
        assertEquals(List.of("services[0].ingress[0].port: must be a port number 1..65535, got 0"), e.problems());
    }

    @Test
    void rejectsMalformedYamlDuplicateKeysAndWrongTypesWithoutThrowingAnythingElse() {
        assertHas(assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse("services: [", POLICIES))
                .problems(), "document: not valid YAML at line");
        assertHas(assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(
                "services: []\nservices: []\n", POLICIES)).problems(), "document: not valid YAML");
        assertHas(assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse("", POLICIES)).problems(),
                "document: is empty");
        List<String> p = assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse("""
                services:
                  - name: a
                    mutual: "yes"
                    members: {nodes: "n1"}
                    ingress: {port: 1}
                """, POLICIES)).problems();
        assertHas(p, "services[0].mutual: must be true or false");
        assertHas(p, "services[0].members.nodes: must be a list of strings");
        assertHas(p, "services[0].ingress: must be a list");
    }

    @Test
    void storedDocumentsParseEvenWhenAPolicyWasRemovedSince() throws Exception {
        String doc = """
                services:
                  - name: a
                    members: {nodes: [n1]}
                    ingress: [{port: 8443, appPort: 8080, policies: [retired]}]
                """;
        assertThrows(MeshConfigException.class, () -> MeshConfigParser.parse(doc, POLICIES));
        assertEquals(List.of("retired"), MeshConfigParser.parseStored(doc).services().getFirst().ingress().getFirst()
                .policies());
    }

    static List<String> names(List<MeshService> services) {
        return services.stream().map(MeshService::name).toList();
    }

    static void assertHas(List<String> problems, String prefix) {
        Optional<String> hit = problems.stream().filter(p -> p.startsWith(prefix)).findFirst();
        assertTrue(hit.isPresent(), "expected a problem starting with '" + prefix + "' in:\n  " + String.join("\n  ", problems));
    }
}
