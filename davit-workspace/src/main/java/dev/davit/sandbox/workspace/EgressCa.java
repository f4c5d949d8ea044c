package dev.davit.sandbox.workspace;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A workspace's own certificate authority for the secrets its egress gate injects (see docs/reference/sandbox/NETWORK.md, "Secrets
 * injected by the gate"): an ECDSA P-256 key and a self-signed CA certificate, made when the workspace is created,
 * constrained to the hosts its secrets go to (name constraints: a certificate it signed for any other name is not
 * valid), kept with the workspace's secrets on the host. The sandbox trusts its certificate; the gate gets, at each
 * start, a new leaf certificate and key for those hosts ({@link #leaf}) and never the CA's key. Certificates
 * are built with Bouncy Castle and signed by the Java runtime's own ECDSA.
 */
final class EgressCa {
    private static final String STORE_TYPE = "PKCS12";
    private static final String ALIAS = "ca";
    /** The CA store's password: a container's, the file itself is 0600 in a 0700 directory. */
    private static final char[] PASSWORD = "davit-egress-ca".toCharArray();
    private static final Duration CA_LIFE = Duration.ofDays(3650);
    private static final Duration LEAF_LIFE = Duration.ofDays(397);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final PrivateKey key;
    private final X509Certificate cert;

    private EgressCa(PrivateKey key, X509Certificate cert) {
        this.key = key;
        this.cert = cert;
    }

    /** A new CA for {@code hosts}. */
    static EgressCa create(List<String> hosts) {
        try {
            KeyPair kp = keyPair();
            Instant now = Instant.now();
            X500Principal name = new X500Principal("CN=Egress CA of a workspace of davit ("
                    + serial().toString(16).substring(0, 8) + "), O=davit");
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(CA_LIFE)), name, kp.getPublic());
            JcaX509ExtensionUtils u = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, u.createSubjectKeyIdentifier(kp.getPublic()));
            List<GeneralSubtree> permitted = new ArrayList<>();
            for (String h : hosts) {
                permitted.add(new GeneralSubtree(new GeneralName(GeneralName.dNSName, h)));
            }
            b.addExtension(Extension.nameConstraints, true, new NameConstraints(
                    permitted.toArray(GeneralSubtree[]::new), null));
            X509Certificate c = sign(b, kp.getPrivate());
            return new EgressCa(kp.getPrivate(), c);
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make the workspace's egress CA: " + e, e);
        }
    }

    /** The CA's key and certificate as a PKCS#12 store (kept 0600 with the workspace's secrets). */
    byte[] store() {
        try {
            KeyStore ks = KeyStore.getInstance(STORE_TYPE);
            ks.load(null, null);
            ks.setKeyEntry(ALIAS, key, PASSWORD, new Certificate[] {cert});
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ks.store(out, PASSWORD);
            return out.toByteArray();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot store the workspace's egress CA: " + e, e);
        }
    }

    /** The CA {@link #store} wrote. */
    static EgressCa load(byte[] store) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance(STORE_TYPE);
            ks.load(new ByteArrayInputStream(store), PASSWORD);
            return new EgressCa((PrivateKey) ks.getKey(ALIAS, PASSWORD),
                    (X509Certificate) ks.getCertificate(ALIAS));
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IOException("not a davit egress CA store: " + e.getMessage(), e);
        }
    }

    /** The CA's certificate, PEM: what the sandbox trusts. */
    String pem() {
        try {
            return "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(
                            cert.getEncoded()) + "\n-----END CERTIFICATE-----\n";
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What the gate serves a workspace's hosts with: a new key and a certificate for them signed by this CA.
     *
     * @param chain the leaf's and the CA's certificates (DER)
     * @param key   the leaf's private key (PKCS#8 DER, with its public key: {@link #withPublicKey})
     */
    record Leaf(List<byte[]> chain, byte[] key) {
    }

    /** A new key and a certificate for {@code hosts} signed by this CA ({@link Leaf}). */
    Leaf leaf(List<String> hosts) {
        try {
            KeyPair kp = keyPair();
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(cert, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(LEAF_LIFE)),
                    new X500Principal("CN=" + hosts.get(0)), kp.getPublic());
            JcaX509ExtensionUtils u = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectKeyIdentifier, false, u.createSubjectKeyIdentifier(kp.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, u.createAuthorityKeyIdentifier(cert));
            GeneralName[] names = hosts.stream().map(h -> new GeneralName(GeneralName.dNSName, h))
                    .toArray(GeneralName[]::new);
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            X509Certificate leaf = sign(b, key);
            return new Leaf(List.of(leaf.getEncoded(), cert.getEncoded()), withPublicKey(kp));
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make the egress gate's certificate: " + e, e);
        }
    }

    /**
     * The PKCS#8 encoding of {@code kp}'s EC private key with its public key inside (RFC 5915's optional
     * {@code publicKey}), which the runtime leaves out and davit-agent's TLS (ring) needs.
     */
    static byte[] withPublicKey(KeyPair kp) throws IOException {
        org.bouncycastle.asn1.pkcs.PrivateKeyInfo info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(
                kp.getPrivate().getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(
                info.parsePrivateKey());
        org.bouncycastle.asn1.x509.SubjectPublicKeyInfo pub = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo
                .getInstance(kp.getPublic().getEncoded());
        return new org.bouncycastle.asn1.pkcs.PrivateKeyInfo(info.getPrivateKeyAlgorithm(),
                new org.bouncycastle.asn1.sec.ECPrivateKey(256, inner.getKey(), pub.getPublicKeyData(), null))
                .getEncoded();
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
            throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(
                "SHA256withECDSA").build(key)));
    }
}
