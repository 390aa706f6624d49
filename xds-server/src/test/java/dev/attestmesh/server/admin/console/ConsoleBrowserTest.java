package dev.attestmesh.server.admin.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.server.registry.NodeEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser (headless Debian Chromium through chromedriver) against a real control
 * plane with nodes attested by real agents: sign-in, attested nodes listed, a viewer sees no write control
 * and the API refuses the viewer's write, an operator revokes through the console, a revocation made
 * elsewhere turns the row red within a second without a reload (server-sent events), and markup in node
 * ids, reasons and claims is shown as text (no element created, no script run). Screenshots are kept under
 * {@code target/console-screenshots/}. Skipped where Chromium or chromedriver is not installed
 * ({@code .ci/run} installs the Debian packages {@code chromium} and {@code chromium-driver} where it can).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleBrowserTest {
    static final Path CHROMIUM = Path.of(System.getProperty("attestmesh.test.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("attestmesh.test.chromedriver", "/usr/bin/chromedriver"));
    /** Sets a marker on the page's body if it ever runs: proof that injected markup executed. */
    static final String MARKUP = "<img src=x onerror=\"document.body.setAttribute('data-xss','1')\">";
    static final Path SHOTS = Path.of("target", "console-screenshots");

    ConsoleTestPlane plane;
    WebDriver driver;
    Path profile;
    String markupNode;

    @BeforeAll
    void start() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), "web console browser test skipped: "
                + CHROMIUM + " or " + CHROMEDRIVER + " is not installed (Debian packages chromium and chromium-driver)");
        plane = new ConsoleTestPlane(Map.of());
        for (String id : List.of("web-1", "web-2", "web-3")) {
            plane.attest(id);
        }
        // Markup in every field the console shows that an attacker can influence: a stored record whose node id,
        // reason, registration and claims carry markup (as another replica or an old version might have written).
        NodeEntry w = plane.cp.registry().entry("web-3").orElseThrow();
        markupNode = "n" + MARKUP;
        AttestationClaims c = w.claims();
        AttestationClaims claims = new AttestationClaims(c.version(), markupNode, c.tee(),
                // measurement values are hex by construction; their names, the TCB status and advisories are not
                Map.of("measurement", "a1a1", MARKUP, "b2b2"), MARKUP, List.of(MARKUP), c.policies(), c.evidenceSha256(),
                c.attestedAt(), c.insecure(), c.debug());
        plane.cp.registry().put(new NodeEntry(markupNode, w.spiffeId() + "-m", w.tee(), w.measurement(), w.state(),
                "reason " + MARKUP, claims, w.satisfiedPolicies(), w.certChainPem(), "ab" + w.certSerialHex(),
                "cd" + w.certSha256().substring(2), "", w.certNotAfter(), w.evidenceExpiresAt(), w.attestedAt(),
                w.evidence(), MARKUP, w.keySha256(), Optional.empty()));
        // A refused Challenge whose node id is markup, sent raw over the real gRPC path (the agent would refuse
        // to send such an id itself).
        io.grpc.ManagedChannel ch = dev.attestmesh.agent.ControlPlaneChannels.open("127.0.0.1:" + plane.cp.grpcPort(),
                dev.attestmesh.ca.Pem.parseCertificates(Files.readString(plane.cp.caBundleFile())), Optional.empty());
        try {
            dev.attestmesh.api.v1.AttestationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
                    .challenge(dev.attestmesh.api.v1.ChallengeRequest.newBuilder().setNodeId(MARKUP).build());
            throw new AssertionError("a node id with markup must be refused");
        } catch (io.grpc.StatusRuntimeException refused) {
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode());
        } finally {
            ch.shutdownNow();
        }
        Files.createDirectories(SHOTS);
        profile = Files.createTempDirectory("attestmesh-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(20));
    }

    @AfterAll
    void stop() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        if (plane != null) {
            plane.close();
        }
        if (profile != null) {
            try (var s = Files.walk(profile)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void viewerSeesNodesAndMarkupAsTextButNoWriteControl() throws Exception {
        signIn(plane.viewer, "viewer");
        open("#/nodes");
        WebElement row = waitFor(By.cssSelector("tr.node-row[data-node-id='web-3']")); // web-3 is never revoked here
        assertTrue(row.getAttribute("class").contains("state-ATTESTED"));
        assertTrue(driver.findElements(By.cssSelector(".revoke-button")).isEmpty(), "a viewer gets no revoke control");
        WebElement markupRow = waitFor(By.cssSelector("tr.node-row[data-node-id^='n<img']"));
        assertTrue(markupRow.getText().contains(MARKUP), "node id, reason and registration shown as text: " + markupRow.getText());
        assertNoInjectedElement();
        screenshot("viewer-nodes");

        open("#/nodes/" + java.net.URLEncoder.encode(markupNode, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20"));
        WebElement title = waitFor(By.id("node-title"));
        assertEquals(markupNode, title.getText());
        String page = driver.findElement(By.id("page")).getText();
        assertTrue(page.contains("measurement " + MARKUP), "a claim's name shown as text");
        assertTrue(page.contains("TCB status " + MARKUP), "the TCB status claim shown as text");
        assertTrue(page.contains("advisories " + MARKUP), "advisory ids shown as text");
        assertFalse(driver.findElements(By.cssSelector("#appraisal table td.pass")).isEmpty(), "appraisal rule by rule");
        assertNoInjectedElement();
        screenshot("viewer-markup-node-detail");

        open("#/overview");
        WebElement refusal = waitFor(By.cssSelector("tr.refusal"));
        assertTrue(driver.findElement(By.id("page")).getText().contains(MARKUP), "the refused node id shown as text: "
                + refusal.getText());
        assertNoInjectedElement();
        screenshot("viewer-overview");

        open("#/mesh");
        WebElement graph = waitFor(By.id("mesh-graph"));
        assertEquals(2, graph.findElements(By.tagName("circle")).size(), "one circle per service");
        assertEquals(1, graph.findElements(By.cssSelector("line.edge")).size(), "one allowed edge, web -> api");
        assertTrue(graph.getText().contains(":9443 default,strict"), "the edge's port and required policies: " + graph.getText());
        screenshot("viewer-mesh");

        open("#/policies");
        WebElement doc = waitFor(By.cssSelector(".document[data-id='strict'] textarea"));
        doc.sendKeys("# proposed");
        driver.findElement(By.cssSelector(".document[data-id='strict'] .diff-button")).click();
        assertTrue(waitFor(By.cssSelector(".document[data-id='strict'] .diff-add")).getText().contains("# proposed"));
        assertTrue(driver.findElements(By.cssSelector(".apply-button")).isEmpty(), "a viewer cannot apply");

        assertEquals(201, plane.send("POST", "/api/v1/issuance-log/checkpoints", plane.operator, null, null).statusCode());
        open("#/log");
        waitFor(By.id("verify-log")).click();
        assertTrue(waitFor(By.id("log-verdict")).getText().length() > 0);
        String verification = driver.findElement(By.id("log-verification")).getText();
        assertTrue(verification.contains("Chain intact") && verification.startsWith("Verified.")
                && verification.contains("head hash matches entry"), verification);
        screenshot("viewer-log");

        open("#/revocations");
        waitFor(By.cssSelector("#page h2"));
        assertTrue(driver.findElements(By.cssSelector(".lift-button, #add-revocation")).isEmpty(),
                "a viewer gets no revocation controls");
        var denied = plane.send("POST", "/api/v1/revocations", plane.viewer, "application/json",
                "{\"kind\":\"node\",\"value\":\"web-1\",\"reason\":\"viewer\"}");
        assertEquals(403, denied.statusCode(), "and the API refuses the viewer's write anyway");
    }

    @Test
    void operatorRevokesInTheConsoleAndSeesARevocationMadeElsewhereWithinASecond() throws Exception {
        signIn(plane.operator, "operator");
        open("#/nodes");
        waitFor(By.cssSelector("tr.node-row[data-node-id='web-2'] .revoke-button")).click();
        driver.findElement(By.cssSelector("tr.node-row[data-node-id='web-2'] .revoke-reason")).sendKeys("console test " + MARKUP);
        ((JavascriptExecutor) driver).executeScript("window.__attestmeshNoReload = 1;");
        driver.findElement(By.cssSelector("tr.node-row[data-node-id='web-2'] .confirm-revoke")).click();
        new WebDriverWait(driver, Duration.ofSeconds(5)).ignoring(StaleElementReferenceException.class).until(d -> d.findElement(
                By.cssSelector("tr.node-row[data-node-id='web-2']")).getAttribute("class").contains("state-REVOKED"));
        assertEquals("REVOKED", plane.cp.registry().entry("web-2").orElseThrow().state().name());
        assertNoInjectedElement();
        screenshot("operator-revoked-in-console");

        waitFor(By.cssSelector("#live.live-on"));
        var added = plane.send("POST", "/api/v1/revocations", plane.operator, "application/json",
                "{\"kind\":\"node\",\"value\":\"web-1\",\"reason\":\"revoked by the CLI\"}");
        long revokedAt = System.nanoTime();
        assertEquals(201, added.statusCode(), added.body());
        new WebDriverWait(driver, Duration.ofSeconds(1), Duration.ofMillis(20))
                .ignoring(StaleElementReferenceException.class).until(d -> d.findElement(
                By.cssSelector("tr.node-row[data-node-id='web-1']")).getAttribute("class").contains("state-REVOKED"));
        long millis = (System.nanoTime() - revokedAt) / 1_000_000;
        assertTrue(millis < 1000, "shown in " + millis + " ms");
        assertEquals(1L, ((JavascriptExecutor) driver).executeScript("return window.__attestmeshNoReload;"),
                "the page was not reloaded");
        screenshot("operator-live-revocation");
    }

    private void signIn(String token, String role) {
        driver.get(plane.base + "/ui/");
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear();");
        driver.navigate().refresh();
        waitFor(By.id("token")).sendKeys(token);
        driver.findElement(By.id("signin-button")).click();
        assertTrue(waitFor(By.id("whoami")).getText().endsWith("(" + role + ")"));
    }

    private void open(String hash) {
        ((JavascriptExecutor) driver).executeScript("location.hash = arguments[0];", hash);
    }

    private WebElement waitFor(By by) {
        return new WebDriverWait(driver, Duration.ofSeconds(10)).ignoring(StaleElementReferenceException.class).until(d -> {
            List<WebElement> found = d.findElements(by);
            return found.isEmpty() || !found.getFirst().isDisplayed() ? null : found.getFirst();
        });
    }

    private void assertNoInjectedElement() {
        assertTrue(driver.findElements(By.tagName("img")).isEmpty(), "markup created no element");
        assertNull(driver.findElement(By.tagName("body")).getAttribute("data-xss"), "injected script never ran");
        assertFalse(driver.getPageSource().contains("<img src=\"x\""), "no img element in the DOM");
    }

    private void screenshot(String name) throws Exception {
        Path shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(shot, SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }
}
