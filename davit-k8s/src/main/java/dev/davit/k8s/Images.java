package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.client.DavitHome;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.agent.AgentProgram;
import dev.davit.sandbox.vm.VmImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The images a pod runs, in the registry the cluster pulls from, always by digest: the environment (the manifest
 * davit unpacked for the sandbox, pushed from davit's store) and davit's agent image (davit-agent, the pod's main
 * process and its one way in, and a static busybox, whose tools the commands davit runs there use), which an init
 * container copies into the pod.
 */
final class Images {
    private static final Pattern ROOTFS = Pattern.compile("sha256-([0-9a-f]{64})");
    private static final Pattern MEDIA_TYPE = Pattern.compile("\"mediaType\"\\s*:\\s*\"([^\"]{1,200})\"");
    /** What this process pushed already: registry and digest. */
    private static final Set<String> PUSHED = ConcurrentHashMap.newKeySet();
    /** A lock per environment being pushed. */
    private static final ConcurrentHashMap<String, Object> PUSHING = new ConcurrentHashMap<>();

    private Images() {
    }

    /**
     * The environment of root filesystem {@code rootfs} (an image davit unpacked: {@code <home>/rootfs/sha256-HEX})
     * in the cluster's registry, pushed there from the home's store when this process has not yet.
     *
     * @return {@code REGISTRY/davit/env@sha256:HEX}
     */
    static String environment(K8sSettings settings, Path rootfs) {
        Matcher m = ROOTFS.matcher(rootfs.getFileName() == null ? "" : rootfs.getFileName().toString());
        Path home = rootfs.toAbsolutePath().getParent() == null ? null
                : rootfs.toAbsolutePath().getParent().getParent();
        if (!m.matches() || home == null || !rootfs.toAbsolutePath().getParent().getFileName().toString()
                .equals("rootfs")) {
            throw new DavitException(Kind.USAGE, "the k8s backend runs images from davit's store (an image"
                    + " reference or an environment), not the directory " + rootfs);
        }
        String registry = settings.requireRegistry();
        Digest digest = Digest.parse("sha256:" + m.group(1));
        String pinned = registry + "/davit/env@" + digest;
        if (PUSHED.contains(pinned)) {
            return pinned;
        }
        // pushed once per process: the first creates of an environment at once wait for one push (concurrent pushes
        // of one image's blobs made the registry answer DIGEST_INVALID: thirty workspaces made at once)
        synchronized (PUSHING.computeIfAbsent(pinned, k -> new Object())) {
            if (PUSHED.contains(pinned)) {
                return pinned;
            }
            DavitClient client = client(settings, home);
            byte[] manifest = client.store().readBlob(digest, 4 << 20);
            Matcher mt = MEDIA_TYPE.matcher(new String(manifest, StandardCharsets.UTF_8));
            String mediaType = mt.find() ? mt.group(1) : "application/vnd.oci.image.manifest.v1+json";
            client.push(new Descriptor(mediaType, digest, manifest.length), registry + "/davit/env:sha256-"
                    + digest.hex(), ProgressListener.NONE);
            PUSHED.add(pinned);
        }
        return pinned;
    }

    /**
     * davit's agent image in the cluster's registry: davit-agent ({@link PodLinks}) and the busybox; built into the
     * home's store once per content, pushed when this process has not yet. Its files are read and hashed once per
     * process (every create asks).
     *
     * @return {@code REGISTRY/davit/agent@DIGEST}
     * @throws DavitException HOST_UNSUPPORTED when this jar has no davit-agent (built without cargo)
     */
    static String agent(K8sSettings settings, Path home, SandboxOptions options) {
        Path program = AgentProgram.required(options);
        String key = settings.requireRegistry() + "\n" + home.toAbsolutePath() + "\n" + program;
        String known = AGENTS.get(key);
        if (known != null) {
            return known;
        }
        synchronized (PUSHING.computeIfAbsent("agent\n" + key, k -> new Object())) { // built and pushed once
            known = AGENTS.get(key);
            if (known == null) {
                known = agent(settings, home, program);
                AGENTS.put(key, known);
            }
        }
        return known;
    }

    /** {@link #agent(K8sSettings, Path, SandboxOptions)} by registry, home and agent program, this process's. */
    private static final ConcurrentHashMap<String, String> AGENTS = new ConcurrentHashMap<>();

    private static String agent(K8sSettings settings, Path home, Path program) {
        byte[] busybox = new VmImages(VmImages.defaultCacheDir(home)).busybox();
        byte[] davitAgent;
        try {
            davitAgent = Files.readAllBytes(program);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read davit's agent " + program + ": " + e.getMessage());
        }
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        all.writeBytes(busybox);
        all.writeBytes(davitAgent);
        return built(settings, home, "agent", Digest.sha256(all.toByteArray()).hex().substring(0, 16), dir -> {
            Files.write(dir.resolve("busybox"), busybox);
            Files.setPosixFilePermissions(dir.resolve("busybox"), PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.write(dir.resolve("davit-agent"), davitAgent);
            Files.setPosixFilePermissions(dir.resolve("davit-agent"), PosixFilePermissions.fromString("rwxr-xr-x"));
        });
    }

    /** Fills the directory an image of davit's own is made of. */
    interface Filler {
        void fill(Path dir) throws IOException;
    }

    /**
     * An image of davit's own in the cluster's registry ({@code davit/NAME}): built from the directory {@code fill}
     * makes into the home's store once per {@code tag} (which names its content), pushed when this process has not
     * yet.
     *
     * @return {@code REGISTRY/davit/NAME@DIGEST}
     */
    static String built(K8sSettings settings, Path home, String name, String tag, Filler fill) {
        DavitClient client = client(settings, home);
        String local = "davit.k8s.local/" + name + ":" + tag;
        if (client.find(local).isEmpty()) {
            build(client, name, local, fill, BuildOptions.defaults());
        }
        return pushed(settings, client, name, tag, client.find(local).orElseThrow().descriptor());
    }

    /** Builds {@code local} into the store from a temporary directory {@code fill} makes (removed after). */
    private static void build(DavitClient client, String name, String local, Filler fill, BuildOptions options) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("davit-k8s-" + name);
            fill.fill(dir);
            BuildResult built = client.build(dir, local, options);
            if (built == null) {
                throw new DavitException(Kind.STORE, "cannot build davit's " + name + " image");
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot make davit's " + name + " image: " + e.getMessage());
        } finally {
            if (dir != null) {
                dev.davit.sandbox.host.Host.deleteTree(dir);
            }
        }
    }

    /**
     * A multi-platform image of davit's own in the cluster's registry ({@code davit/NAME}): one image per platform of
     * {@code fills}, each from the directory its filler makes, under an OCI index; built into the home's store once per
     * {@code tag} (which names the content of them all), pushed when this process has not yet.
     *
     * @return {@code REGISTRY/davit/NAME@DIGEST} (the index's)
     */
    static String index(K8sSettings settings, Path home, String name, String tag, Map<Platform, Filler> fills) {
        DavitClient client = client(settings, home);
        String local = "davit.k8s.local/" + name + ":" + tag;
        if (client.find(local).isEmpty()) {
            StringBuilder manifests = new StringBuilder();
            for (var e : fills.entrySet()) {
                Platform p = e.getKey();
                String one = local + "-" + p.architecture();
                build(client, name, one, e.getValue(), BuildOptions.builder().platform(p).build());
                Descriptor d = client.find(one).orElseThrow().descriptor();
                manifests.append(manifests.isEmpty() ? "" : ",").append("{\"mediaType\":\"").append(d.mediaType())
                        .append("\",\"digest\":\"").append(d.digest()).append("\",\"size\":").append(d.size())
                        .append(",\"platform\":{\"architecture\":\"").append(p.architecture())
                        .append("\",\"os\":\"").append(p.os()).append("\"}}");
            }
            byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\",\"manifests\":["
                    + manifests + "]}").getBytes(StandardCharsets.UTF_8);
            Descriptor top = new Descriptor(MediaTypes.OCI_INDEX, Digest.sha256(index), index.length);
            client.store().putBlob(top, index);
            client.store().setEntry(dev.davit.oci.reference.Reference.parse(local).toString(), top, Map.of());
        }
        return pushed(settings, client, name, tag, client.find(local).orElseThrow().descriptor());
    }

    /** {@code top} (in the store) pushed to {@code REGISTRY/davit/NAME:TAG} unless this process did already. */
    private static String pushed(K8sSettings settings, DavitClient client, String name, String tag, Descriptor top) {
        String registry = settings.requireRegistry();
        String pinned = registry + "/davit/" + name + "@" + top.digest();
        if (!PUSHED.contains(pinned)) {
            client.push(top, registry + "/davit/" + name + ":" + tag, ProgressListener.NONE);
            PUSHED.add(pinned); // only once it is there: a failed push is tried again
        }
        return pinned;
    }

    private static DavitClient client(K8sSettings settings, Path home) {
        ClientOptions o = ClientOptions.defaults().withStore(DavitHome.storeOf(home));
        if (settings.plainHttp()) {
            o = o.withInsecureRegistries(Set.of(settings.registryHost()));
        }
        return DavitClient.create(o);
    }
}
