/**
 * The integration-test kit: real registries, images made by independent tools, and a fault-injecting proxy.
 * Test code, shipped in davit-oci's test-jar; davit-cli's tests use it through the {@code test-jar} dependency.
 *
 * <h2>Pieces</h2>
 * <ul>
 *   <li>{@link dev.davit.oci.testkit.TestRegistry} — a CNCF distribution 2.8 registry process on 127.0.0.1:
 *       anonymous, HTTP Basic ({@code htpasswd}), or Docker token auth backed by
 *       {@link dev.davit.oci.testkit.TokenServer} (in-process, RS256 JWTs, counts requests).</li>
 *   <li>{@link dev.davit.oci.testkit.Fixtures} — images pushed into a registry: a three-layer image made by umoci
 *       (OCI, or Docker schema 2 via skopeo), a three-platform OCI index, an OCI artifact with a subject, and a
 *       large single-layer image of seeded random bytes. Results: {@link dev.davit.oci.testkit.PushedImage},
 *       {@link dev.davit.oci.testkit.PushedIndex}, {@link dev.davit.oci.testkit.PushedArtifact}.</li>
 *   <li>{@link dev.davit.oci.testkit.FaultProxy} with {@link dev.davit.oci.testkit.Fault} — an HTTP/1.1 proxy that
 *       flips a body byte, cuts a body, answers 503 or 429, ignores Range, or redirects to another host, and
 *       records every request.</li>
 *   <li>{@link dev.davit.oci.testkit.RawPush} — plain {@code HttpClient} uploads and reads, for tests that need to
 *       put something odd into a registry or read what it serves without davit's client.</li>
 *   <li>{@link dev.davit.oci.testkit.Tools} — skipping rules ({@code -Ddavit.it.skip=true}; a missing tool skips,
 *       or fails when {@code CI=true}) and a command runner.</li>
 * </ul>
 *
 * <h2>Typical test</h2>
 * <pre>{@code
 * class PullIT_Test {
 *     static TestRegistry registry;
 *     static PushedImage image;
 *
 *     @BeforeAll static void up() {
 *         registry = TestRegistry.builder().tokenAuth().start();   // skips if docker-registry is missing
 *         image = Fixtures.pushImage(registry, "team/app", "v1");
 *     }
 *     @AfterAll static void down() { registry.close(); }
 *
 *     @Test void resumesACutDownload() {
 *         try (FaultProxy proxy = FaultProxy.start(registry)) {
 *             proxy.add(Fault.cutAfter(50_000).onBlob(image.layerDigests().get(1)));
 *             // pull proxy.hostPort() + "/team/app:v1" with the client under test, using
 *             // registry.username() / registry.password()
 *             assertThat(proxy.requests("GET", Fault.BLOB_PATH))
 *                 .anySatisfy(r -> assertThat(r.range()).isEqualTo("bytes=50000-"));
 *             assertThat(registry.tokenServer().tokenRequests()).isEqualTo(1);
 *         }
 *     }
 * }
 * }</pre>
 *
 * <h2>Behaviour of distribution 2.8 worth knowing</h2>
 * <ul>
 *   <li>An OCI manifest or index is served only if {@code Accept} lists its media type; otherwise the answer is
 *       404 {@code MANIFEST_UNKNOWN} ("OCI manifest found, but accept header does not support OCI manifests"),
 *       even by digest. {@link dev.davit.oci.testkit.RawPush#ACCEPT_MANIFESTS} lists all four types.</li>
 *   <li>No referrers API: {@code /v2/<name>/referrers/<digest>} is 404. A {@code subject} is stored and served
 *       as part of the manifest but not indexed.</li>
 *   <li>Token auth: the challenge's realm is the token server's own URL, also when the client goes through a
 *       {@link dev.davit.oci.testkit.FaultProxy}; the registry checks {@code exp}/{@code nbf} with 60 s leeway and
 *       needs the {@code delete} action for DELETE.</li>
 *   <li>Blob GETs are served directly (no redirect to storage); {@code Range} requests get 206.</li>
 * </ul>
 */
package dev.davit.oci.testkit;
