package dev.davit.oci.policy;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What davit trusts: a signature policy and where signatures are ({@code registries.d}), and the decision for one
 * image ({@link #admit}): the requirements of the image's scope, each of which must be met; a signed requirement is
 * met by one signature that verifies under its keys and whose claims match the image (its manifest digest, and its
 * identity by the requirement's {@code signedIdentity}). Simple signing signatures are read from the lookaside store
 * {@code registries.d} names; sigstore signatures from the registry, where {@code use-sigstore-attachments} is set
 * (cosign's {@code sha256-<hex>.sig} tag), by a key, or by a certificate a Fulcio CA issued, with Rekor's signed entry
 * timestamp for it when the requirement gives a Rekor key (its time is when the certificate must have been valid).
 *
 * @param policy     the policy
 * @param registries where signatures are
 */
public record Trust(SignaturePolicy policy, RegistriesD registries) {
    /** No policy: anything is accepted, no signature is looked for. */
    public static final Trust ACCEPT_ANYTHING = new Trust(SignaturePolicy.ACCEPT_ANYTHING, RegistriesD.NONE);
    /** The most signatures read for one image from one place. */
    public static final int MAX_SIGNATURES = 64;
    /** The store entry's annotation: the {@link #fingerprint} of the trust that admitted the image. */
    public static final String ADMITTED_BY = "dev.davit.trust.fingerprint";
    /** The store entry's annotation: who signed what admitted the image ({@link Admitted#signers}), comma-separated. */
    public static final String SIGNERS = "dev.davit.trust.signers";

    /**
     * {@code annotations} without davit's trust records ({@value #ADMITTED_BY}, {@value #SIGNERS}): what comes from
     * a registry or a bundle never says what admitted an image; only davit's own admission writes that.
     *
     * @param annotations annotations from outside
     * @return them, less any {@code dev.davit.trust.} key
     */
    public static Map<String, String> strip(Map<String, String> annotations) {
        if (annotations.keySet().stream().noneMatch(k -> k.startsWith("dev.davit.trust."))) {
            return annotations;
        }
        Map<String, String> m = new java.util.LinkedHashMap<>(annotations);
        m.keySet().removeIf(k -> k.startsWith("dev.davit.trust."));
        return m;
    }

    /**
     * What this trust is, as a digest: of the policy file's bytes and of every key file it names (a key replaced is
     * another trust). {@code none} when there is no policy.
     *
     * @return the SHA-256, hex, or {@code none}
     */
    public String fingerprint() {
        if (policy == SignaturePolicy.ACCEPT_ANYTHING) {
            return "none";
        }
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        md.update(policy.digest().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        java.util.TreeSet<Path> keys = new java.util.TreeSet<>();
        for (SignaturePolicy.Requirement r : policy.allRequirements()) {
            if (r instanceof SignaturePolicy.SignedBy s) {
                keys.addAll(s.keyPaths());
            } else if (r instanceof SignaturePolicy.SigstoreSigned s) {
                java.util.stream.Stream.of(s.keyPath(), s.rekorPublicKeyPath(), s.fulcio() == null ? null
                        : s.fulcio().caPath()).filter(java.util.Objects::nonNull).forEach(keys::add);
                keys.addAll(s.keyPaths());
            }
        }
        for (Path k : keys) {
            // a key file that cannot be read is hashed as such (a scope that needs it refuses when used, as
            // containers/image reads keys only then; every other image is admitted as before): once readable, the
            // trust is another
            byte[] content;
            try {
                content = keyFile(k);
            } catch (DavitException e) {
                content = ("(" + e.getMessage() + ")").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }
            // each part after its length: no two lists of files hash alike
            for (byte[] part : List.of(k.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8), content)) {
                md.update(java.nio.ByteBuffer.allocate(8).putLong(part.length).array());
                md.update(part);
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    /**
     * The annotations a store entry records for an image {@code admitted} admitted: {@value #ADMITTED_BY} and, when
     * something was signed, {@value #SIGNERS}; none without a policy.
     *
     * @param admitted what admitted it
     * @return the annotations
     */
    public Map<String, String> record(Admitted admitted) {
        if (policy == SignaturePolicy.ACCEPT_ANYTHING) {
            return Map.of();
        }
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put(ADMITTED_BY, fingerprint());
        if (!admitted.signers().isEmpty()) {
            m.put(SIGNERS, String.join(",", admitted.signers()));
        }
        return m;
    }

    /**
     * What admitted an image.
     *
     * @param where   where the requirements came from ({@link SignaturePolicy.Applied#where})
     * @param signers who signed what the signed requirements needed (a key file, a GPG fingerprint), in order;
     *                empty when nothing was signed or needed to be
     */
    public record Admitted(String where, List<String> signers) {
        /** Copies the list. */
        public Admitted {
            signers = List.copyOf(signers);
        }
    }

    /**
     * The trust of this system: the policy {@code policyFile} when given, else {@code $DAVIT_HOME/policy.json}, else
     * {@code ~/.config/containers/policy.json}, else {@code /etc/containers/policy.json}, else none (anything is
     * accepted); registries.d from {@code $DAVIT_HOME/registries.d}, else {@code ~/.config/containers/registries.d},
     * else {@code /etc/containers/registries.d}.
     *
     * @param policyFile a policy file given explicitly, or null
     * @param davitHome  the davit home
     * @param env        the environment (HOME)
     * @return the trust
     * @throws DavitException USAGE when a file is not valid
     */
    public static Trust fromSystem(Path policyFile, Path davitHome, Map<String, String> env) {
        String home = env.getOrDefault("HOME", System.getProperty("user.home"));
        Path userConfig = home == null ? null : Path.of(home, ".config", "containers");
        SignaturePolicy policy;
        if (policyFile != null) {
            policy = SignaturePolicy.read(policyFile);
        } else {
            policy = SignaturePolicy.ACCEPT_ANYTHING;
            for (Path p : candidates(davitHome.resolve("policy.json"), userConfig == null ? null
                    : userConfig.resolve("policy.json"), Path.of("/etc/containers/policy.json"))) {
                if (Files.isRegularFile(p)) {
                    policy = SignaturePolicy.read(p);
                    break;
                }
            }
        }
        RegistriesD registries = RegistriesD.NONE;
        for (Path d : candidates(davitHome.resolve("registries.d"), userConfig == null ? null
                : userConfig.resolve("registries.d"), Path.of("/etc/containers/registries.d"))) {
            if (Files.isDirectory(d)) {
                registries = RegistriesD.at(d); // parsed only when a signature is looked for
                break;
            }
        }
        return new Trust(policy, registries);
    }

    private static List<Path> candidates(Path... ps) {
        List<Path> out = new ArrayList<>();
        for (Path p : ps) {
            if (p != null) {
                out.add(p);
            }
        }
        return out;
    }

    /**
     * Decides whether {@code image}, whose top manifest is {@code manifest}, may come in.
     *
     * @param image    the image's reference, as pulled
     * @param manifest the digest of its top manifest (what signatures sign)
     * @param registry the client of the image's registry (sigstore attachments), or null when there is none (then
     *                 only the lookaside store is read)
     * @return what admitted it
     * @throws DavitException VERIFICATION naming the image, the policy's scope and rule and why no signature met it;
     *                        USAGE for a key file that cannot be read
     */
    public Admitted admit(Reference image, Digest manifest, RegistryClient registry) {
        return admit(image, manifest, registry, null);
    }

    /**
     * Where sigstore signature manifests and their payloads are read from besides the registry: a store that
     * imported them from a bundle, so a machine no registry reaches verifies offline.
     */
    public interface Attachments {
        /**
         * The manifest tagged {@code sigRef}, or null when there is none here.
         *
         * @param sigRef the signature tag's reference
         * @return the manifest, or null
         */
        Manifest manifest(Reference sigRef);

        /**
         * A blob of {@code sigRef}'s manifest, at most {@code max} bytes.
         *
         * @param sigRef the signature tag's reference
         * @param d      the blob
         * @param max    the most bytes
         * @return its bytes
         */
        byte[] blob(Reference sigRef, Descriptor d, int max);

        /**
         * What a registry holds.
         *
         * @param registry the registry's client
         * @return the attachments it serves
         */
        static Attachments of(RegistryClient registry) {
            return new Attachments() {
                @Override
                public Manifest manifest(Reference sigRef) {
                    return registry.fetchManifest(sigRef).manifest();
                }

                @Override
                public byte[] blob(Reference sigRef, Descriptor d, int max) {
                    return registry.fetchBlobBytes(sigRef, d, max);
                }
            };
        }
    }

    /**
     * {@link #admit(Reference, Digest, RegistryClient)}, sigstore signatures also read from {@code local} when the
     * registry has none or is not reached.
     *
     * @param image    the image's reference
     * @param manifest the digest of its top manifest
     * @param registry the client of its registry, or null
     * @param local    signatures at hand, or null
     * @return what admitted it
     * @throws DavitException as {@link #admit(Reference, Digest, RegistryClient)}
     */
    public Admitted admit(Reference image, Digest manifest, RegistryClient registry, Attachments local) {
        SignaturePolicy.Applied applied = policy.requirementsFor(image);
        if (applied.acceptsAnything()) {
            return new Admitted(applied.where(), List.of()); // no signature machinery for a scope that asks nothing
        }
        List<String> signers = new ArrayList<>();
        for (SignaturePolicy.Requirement r : applied.requirements()) {
            switch (r) {
                case SignaturePolicy.InsecureAcceptAnything a -> {
                    // nothing to check
                }
                case SignaturePolicy.Reject x -> throw refused(image, applied, "reject", "the policy rejects it");
                case SignaturePolicy.SignedBy s -> signers.add(signedBy(image, manifest, applied, s));
                case SignaturePolicy.SigstoreSigned s -> signers.add(sigstore(image, manifest, applied, s, registry,
                        local));
            }
        }
        return new Admitted(applied.where(), signers);
    }

    private String signedBy(Reference image, Digest manifest, SignaturePolicy.Applied applied,
                            SignaturePolicy.SignedBy s) {
        String rule = "signedBy " + (s.keyData() != null ? "(keyData)" : s.keyPaths().toString());
        List<byte[]> keyrings = new ArrayList<>();
        if (s.keyData() != null) {
            SimpleSigning.requirePublicKeys(s.keyData(), "the signature policy's keyData");
            keyrings.add(s.keyData());
        }
        for (Path p : s.keyPaths()) {
            byte[] ring = keyFile(p);
            SimpleSigning.requirePublicKeys(ring, "the key file " + p + " the signature policy names");
            keyrings.add(ring);
        }
        URI look = registries.forImage(image).lookaside();
        if (look == null) {
            throw refused(image, applied, rule, "registries.d (" + registries.source() + ") names no lookaside store"
                    + " for it, where its signatures would be");
        }
        List<byte[]> sigs;
        try {
            sigs = lookaside(look, image, manifest);
        } catch (DavitException e) {
            if (e.kind() != Kind.VERIFICATION) {
                throw e;
            }
            // as containers/image: a store holding what cannot be a signature admits nothing, whatever follows
            throw refused(image, applied, rule, e.getMessage() + "; a lookaside store with a signature that cannot"
                    + " be read admits nothing (as for containers/image)");
        }
        if (sigs.isEmpty()) {
            throw refused(image, applied, rule, "it has no signature in " + look);
        }
        List<String> why = new ArrayList<>();
        for (int i = 0; i < sigs.size(); i++) {
            try {
                SimpleSigning.Verified v = SimpleSigning.verify(sigs.get(i), keyrings);
                String mismatch = SigstoreSignature.mismatch(v.claims(), manifest, image, s.identity());
                if (mismatch == null) {
                    return "GPG " + v.fingerprint();
                }
                why.add("signature-" + (i + 1) + ": " + mismatch);
            } catch (SigstoreSignature.Invalid e) {
                why.add("signature-" + (i + 1) + ": " + e.getMessage());
            }
        }
        throw refused(image, applied, rule, "no signature meets it (" + String.join("; ", why) + ")");
    }

    private String sigstore(Reference image, Digest manifest, SignaturePolicy.Applied applied,
                            SignaturePolicy.SigstoreSigned s, RegistryClient registry, Attachments local) {
        String rule = "sigstoreSigned " + (s.keyPath() != null ? "(key " + s.keyPath() + ")" : s.keyData() != null
                ? "(keyData)" : !s.keyPaths().isEmpty() ? "(keys " + s.keyPaths() + ")" : !s.keyDatas().isEmpty()
                ? "(keyDatas)" : "(fulcio)");
        Signer signer = signer(rule, s);
        if (!registries.forImage(image).useSigstoreAttachments()) {
            throw refused(image, applied, rule, "registries.d (" + registries.source() + ") does not set"
                    + " use-sigstore-attachments for it, so its sigstore signatures are not read");
        }
        String tag = SigstoreSignature.tag(manifest);
        Reference sigRef = new Reference(image.registry(), image.repository(), tag, null);
        // the registry's signatures, else those at hand (a store entry of that name: imported from a bundle, offline)
        Manifest found = null;
        Attachments from = null;
        if (registry != null) {
            try {
                found = registry.fetchManifest(sigRef).manifest();
                from = Attachments.of(registry);
            } catch (DavitException e) {
                if (e.kind() != Kind.NOT_FOUND && local == null) {
                    throw e;
                }
            }
        }
        if (found == null && local != null) {
            found = local.manifest(sigRef);
            from = local;
        }
        if (found == null) {
            throw refused(image, applied, rule, registry == null && local == null ? "its sigstore signatures are in"
                    + " its registry, which is not reached here" : "it has no sigstore signature (no tag " + tag
                    + (registry == null ? " here" : "") + ")");
        }
        if (!(found instanceof ImageManifest m)) {
            throw refused(image, applied, rule, "its signature tag " + tag + " is not an image manifest");
        }
        List<String> why = new ArrayList<>();
        int n = 0;
        for (Descriptor layer : m.layers()) {
            if (++n > MAX_SIGNATURES) {
                break;
            }
            if (!SigstoreSignature.MEDIA_TYPE.equals(layer.mediaType())) {
                continue;
            }
            try {
                byte[] payload = from.blob(sigRef, layer, SigstoreSignature.MAX_PAYLOAD_BYTES);
                return signer.check(layer, payload, manifest, image, s.identity());
            } catch (SigstoreSignature.Invalid e) {
                why.add("#" + n + ": " + e.getMessage());
            }
        }
        throw refused(image, applied, rule, "no signature meets it (" + (why.isEmpty() ? "none of " + tag
                + "'s layers is a signature" : String.join("; ", why)) + ")");
    }

    /**
     * Who a {@code sigstoreSigned} requirement trusts: a public key, or a Fulcio CA with its OIDC issuer and email;
     * with a Rekor key, each signature must also carry the log's signed entry timestamp for it.
     */
    private record Signer(List<PublicKey> keys, List<java.security.cert.X509Certificate> fulcioRoots,
                          SignaturePolicy.Fulcio fulcio, PublicKey rekor) {
        /** Who signed, for a signature {@code by} verified. */
        String name(PublicKey by) {
            return fulcio != null ? "sigstore Fulcio " + fulcio.subjectEmail() + " (" + fulcio.oidcIssuer() + ")"
                    // the key by its digest (SubjectPublicKeyInfo), as `cosign public-key` users compare keys
                    : "sigstore key sha256:" + Digest.sha256(by.getEncoded()).hex().substring(0, 16);
        }

        /**
         * Who signed the layer's payload: the signature verifies (with the Rekor timestamp the policy requires)
         * and its claims match; else why not, as {@link SigstoreSignature.Invalid}.
         */
        String check(Descriptor layer, byte[] payload, Digest manifest, Reference image,
                     SignaturePolicy.SignedIdentity identity) throws SigstoreSignature.Invalid {
            String signature = layer.annotation(SigstoreSignature.SIGNATURE_ANNOTATION);
            String bundle = layer.annotation(RekorSet.ANNOTATION);
            if (rekor != null && bundle == null) {
                throw new SigstoreSignature.Invalid("it has no Rekor bundle (" + RekorSet.ANNOTATION + "), which the"
                        + " policy's Rekor key requires");
            }
            PublicKey by = null;
            SigstoreSignature.Claims claims = null;
            if (fulcio != null) {
                String cert = layer.annotation(FulcioCertificate.ANNOTATION);
                if (cert == null) {
                    throw new SigstoreSignature.Invalid("it has no Fulcio certificate (" + FulcioCertificate.ANNOTATION
                            + ")");
                }
                byte[] certPem = cert.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                java.time.Instant logged = RekorSet.verify(rekor, bundle, certPem, signature, payload);
                String chain = layer.annotation(FulcioCertificate.CHAIN_ANNOTATION);
                by = FulcioCertificate.verify(fulcioRoots, fulcio.oidcIssuer(), fulcio.subjectEmail(), logged,
                        certPem, chain == null ? null : chain.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                claims = SigstoreSignature.verify(payload, signature, by);
            } else {
                SigstoreSignature.Invalid last = null;
                for (PublicKey k : keys) {
                    try {
                        claims = SigstoreSignature.verify(payload, signature, k);
                        if (rekor != null) {
                            RekorSet.verify(rekor, bundle, SigstoreKeys.publicPem(k).getBytes(
                                    java.nio.charset.StandardCharsets.US_ASCII), signature, payload);
                        }
                        by = k;
                        break;
                    } catch (SigstoreSignature.Invalid e) {
                        last = e;
                    }
                }
                if (by == null) {
                    throw keys.size() == 1 ? last : new SigstoreSignature.Invalid("it is not signed by any of the "
                            + keys.size() + " keys" + (last.getMessage().equals("it is not signed by the key") ? ""
                            : " (" + last.getMessage() + ")"));
                }
            }
            String mismatch = SigstoreSignature.mismatch(claims, manifest, image, identity);
            if (mismatch != null) {
                throw new SigstoreSignature.Invalid(mismatch);
            }
            return name(by);
        }
    }

    private Signer signer(String rule, SignaturePolicy.SigstoreSigned s) {
        PublicKey rekor = s.rekorPublicKeyData() != null || s.rekorPublicKeyPath() != null
                ? publicKey(s.rekorPublicKeyData(), s.rekorPublicKeyPath(), "rekorPublicKeyData") : null;
        if (s.fulcio() == null) {
            List<PublicKey> keys = new ArrayList<>();
            if (s.keyPath() != null || s.keyData() != null) {
                keys.add(publicKey(s.keyData(), s.keyPath(), "keyData"));
            }
            for (Path p : s.keyPaths()) {
                keys.add(publicKey(null, p, null));
            }
            for (int i = 0; i < s.keyDatas().size(); i++) {
                keys.add(publicKey(s.keyDatas().get(i), null, "keyDatas[" + i + "]"));
            }
            if (keys.isEmpty()) {
                throw new DavitException(Kind.USAGE, rule + " names no key; give keyPath, keyPaths, keyData,"
                        + " keyDatas or fulcio");
            }
            return new Signer(List.copyOf(keys), null, null, rekor);
        }
        if (rekor == null) {
            throw new DavitException(Kind.USAGE, rule + " has fulcio without a Rekor public key; give"
                    + " rekorPublicKeyPath or rekorPublicKeyData");
        }
        SignaturePolicy.Fulcio f = s.fulcio();
        String where = f.caData() != null ? "the policy's fulcio.caData" : f.caPath().toString();
        try {
            return new Signer(List.of(), FulcioCertificate.roots(f.caData() != null ? f.caData() : keyFile(f.caPath()),
                    where), f, rekor);
        } catch (IllegalArgumentException e) {
            throw new DavitException(Kind.USAGE, e.getMessage() + "; give the Fulcio CA's certificates in PEM");
        }
    }

    /** The policy's public key given as {@code data} (its field {@code field}), else in the file {@code path}. */
    private static PublicKey publicKey(byte[] data, Path path, String field) {
        return data != null ? SigstoreKeys.readPublic(data, "the policy's " + field)
                : SigstoreKeys.readPublic(keyFile(path), path.toString());
    }

    private static byte[] keyFile(Path p) {
        try {
            if (Files.size(p) > (4 << 20)) {
                throw new DavitException(Kind.USAGE, "the key file " + p + " is over 4 MiB");
            }
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read the key file " + p + " the signature policy names: "
                    + Text.reason(e));
        }
    }

    /**
     * The simple signing signatures of {@code manifest} in the lookaside store {@code base}:
     * {@code <base>/<repository>@<algorithm>=<hex>/signature-N} for N from 1 until one is missing.
     *
     * @param base     the store's URL ({@code file://} or {@code http(s)://})
     * @param image    the image (its repository names the directory)
     * @param manifest the signed manifest's digest
     * @return the signature messages, in order
     * @throws DavitException NETWORK when the store cannot be read; VERIFICATION for a signature over 256 KiB or
     *                        one that cannot be a signature ({@link SimpleSigning#notASignature}): as containers/image
     *                        refuses the whole store, whatever signatures follow it
     */
    public static List<byte[]> lookaside(URI base, Reference image, Digest manifest) {
        List<byte[]> out = new ArrayList<>();
        String dir = image.repository() + "@" + manifest.algorithm().id() + "=" + manifest.hex();
        for (int i = 1; i <= MAX_SIGNATURES; i++) {
            String rel = dir + "/signature-" + i;
            byte[] b;
            try {
                if ("file".equals(base.getScheme())) {
                    Path p = Path.of(base).resolve(rel);
                    if (!Files.isRegularFile(p)) {
                        break;
                    }
                    if (Files.size(p) > SimpleSigning.MAX_BYTES) {
                        throw new DavitException(Kind.VERIFICATION, "signature-" + i + " in the lookaside store "
                                + base + " is over " + (SimpleSigning.MAX_BYTES >> 10) + " KiB");
                    }
                    b = Files.readAllBytes(p);
                } else {
                    String s = base.toString();
                    URI u = URI.create((s.endsWith("/") ? s : s + "/") + rel);
                    HttpURLConnection c = (HttpURLConnection) u.toURL().openConnection();
                    c.setInstanceFollowRedirects(false);
                    c.setConnectTimeout(10_000);
                    c.setReadTimeout(30_000);
                    int status = c.getResponseCode();
                    if (status == 404) {
                        break;
                    }
                    if (status != 200) {
                        throw new DavitException(Kind.NETWORK, "the lookaside store answered HTTP " + status
                                + " for " + u);
                    }
                    try (InputStream in = c.getInputStream()) {
                        b = in.readNBytes(SimpleSigning.MAX_BYTES + 1);
                    }
                    if (b.length > SimpleSigning.MAX_BYTES) {
                        throw new DavitException(Kind.VERIFICATION, "signature-" + i + " in the lookaside store "
                                + base + " is over " + (SimpleSigning.MAX_BYTES >> 10) + " KiB");
                    }
                }
            } catch (IOException e) {
                throw new DavitException(Kind.NETWORK, "cannot read the lookaside store " + base + ": "
                        + e.getMessage());
            }
            String not = SimpleSigning.notASignature(b);
            if (not != null) {
                throw new DavitException(Kind.VERIFICATION, "signature-" + i + " in the lookaside store " + base
                        + " is not a signature (" + not + ")");
            }
            out.add(b);
        }
        return out;
    }

    private DavitException refused(Reference image, SignaturePolicy.Applied applied, String rule, String why) {
        return new DavitException(Kind.VERIFICATION, image + " is refused by the signature policy "
                + policy.source() + ", " + applied.where() + " (" + rule + "): " + why);
    }
}
