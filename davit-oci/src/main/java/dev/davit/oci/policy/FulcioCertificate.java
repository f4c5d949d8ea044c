package dev.davit.oci.policy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.PublicKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXCertPathValidatorResult;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;

/**
 * A signing certificate a Fulcio CA issued, as cosign attaches it to a signature layer ({@value #ANNOTATION}, with
 * the intermediates in {@value #CHAIN_ANNOTATION}): it must chain to the policy's CA certificates at the time the
 * transparency log logged the signature (the certificates live minutes; the log's time is the one that counts), be
 * for code signing, and name the policy's OIDC issuer (Fulcio's issuer extension, 1.3.6.1.4.1.57264.1.8, or its
 * older raw form 1.3.6.1.4.1.57264.1.1; given once each, and the two the same) and subject email.
 */
final class FulcioCertificate {
    /** The signature layer's annotation that holds the signing certificate (PEM). */
    static final String ANNOTATION = "dev.sigstore.cosign/certificate";
    /** The signature layer's annotation that holds the intermediate certificates (PEM), the root last. */
    static final String CHAIN_ANNOTATION = "dev.sigstore.cosign/chain";
    private static final ASN1ObjectIdentifier ISSUER_V1 = new ASN1ObjectIdentifier("1.3.6.1.4.1.57264.1.1");
    private static final ASN1ObjectIdentifier ISSUER_V2 = new ASN1ObjectIdentifier("1.3.6.1.4.1.57264.1.8");
    private static final String CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
    private static final String ANY_USAGE = "2.5.29.37.0";
    /** The most certificates a PEM text given to davit may hold (a policy's CA file, an annotation). */
    private static final int MAX_CERTIFICATES = 16;
    /** The most certificates of a chain annotation: intermediates and the signer's root. */
    private static final int MAX_CHAIN = 8;

    private FulcioCertificate() {
    }

    /**
     * The CA certificates of a policy's {@code fulcio} entry.
     *
     * @param pem   the PEM text
     * @param where where it came from, for the error
     * @return the certificates, at least one
     * @throws IllegalArgumentException when there are none or they do not parse
     */
    static List<X509Certificate> roots(byte[] pem, String where) {
        try {
            List<X509Certificate> certs = parse(pem);
            if (certs.isEmpty()) {
                throw new IllegalArgumentException(where + " has no PEM certificate");
            }
            return certs;
        } catch (SigstoreSignature.Invalid e) {
            throw new IllegalArgumentException(where + " is not PEM certificates");
        }
    }

    /**
     * Verifies the signing certificate and returns its public key.
     *
     * @param roots        the policy's CA certificates
     * @param oidcIssuer   the issuer the certificate must name
     * @param subjectEmail the email it must name
     * @param at           when the log logged the signature
     * @param certPem      the certificate (PEM)
     * @param chainPem     the intermediates (PEM, the root last), or null
     * @return the certificate's public key
     * @throws SigstoreSignature.Invalid when it does not verify or names another issuer or email
     */
    static PublicKey verify(List<X509Certificate> roots, String oidcIssuer, String subjectEmail, Instant at,
                            byte[] certPem, byte[] chainPem) throws SigstoreSignature.Invalid {
        List<X509Certificate> leaves = parse(certPem);
        if (leaves.size() != 1) {
            throw new SigstoreSignature.Invalid("its certificate annotation has " + leaves.size()
                    + " certificates, not one");
        }
        X509Certificate leaf = leaves.get(0);
        try {
            // the certificate checked is the one Rekor logged (the annotation's one PEM block, nothing else)
            if (!java.util.Arrays.equals(leaf.getEncoded(), RekorSet.pemBody(certPem, "its certificate annotation"))) {
                throw new SigstoreSignature.Invalid("its certificate annotation is not one PEM certificate");
            }
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new SigstoreSignature.Invalid("its certificate does not encode");
        }
        Date when = Date.from(at);
        if (!validAt(leaf, when)) {
            throw new SigstoreSignature.Invalid("its certificate was not valid at " + at + " (when Rekor logged it):"
                    + " it is valid from " + leaf.getNotBefore().toInstant() + " to " + leaf.getNotAfter().toInstant());
        }
        // the path is the leaf then the chain's intermediates, in the order given; the chain's last certificate is
        // the root the signer used, and only the policy's roots are trusted. A fixed order is validated, never
        // searched: a chain of cross-named certificates cannot make a path search explode.
        List<X509Certificate> path = new ArrayList<>(List.of(leaf));
        if (chainPem != null && !new String(chainPem, StandardCharsets.US_ASCII).isBlank()) {
            List<X509Certificate> chain = parse(chainPem);
            if (chain.size() > MAX_CHAIN) {
                throw new SigstoreSignature.Invalid("its certificate chain has " + chain.size()
                        + " certificates, over " + MAX_CHAIN);
            }
            path.addAll(chain.subList(0, Math.max(0, chain.size() - 1)));
        }
        X509Certificate anchor;
        try {
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate r : roots) {
                anchors.add(new TrustAnchor(r, null));
            }
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(when);
            var result = (PKIXCertPathValidatorResult) CertPathValidator.getInstance("PKIX").validate(
                    CertificateFactory.getInstance("X.509").generateCertPath(path), params);
            anchor = result.getTrustAnchor().getTrustedCert();
        } catch (CertPathValidatorException | InvalidAlgorithmParameterException | RuntimeException e) {
            throw new SigstoreSignature.Invalid("its certificate does not chain to the policy's Fulcio CA at "
                    + at + " (when Rekor logged it)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        // the JDK does not hold the root to its dates or key usage; Go (containers/image) does
        if (!validAt(anchor, when)) {
            throw new SigstoreSignature.Invalid("the policy's Fulcio CA certificate was not valid at " + at
                    + " (when Rekor logged it)");
        }
        List<X509Certificate> all = new ArrayList<>(path);
        all.add(anchor);
        for (X509Certificate c : all) {
            List<String> usage;
            try {
                usage = c.getExtendedKeyUsage();
            } catch (java.security.cert.CertificateParsingException e) {
                throw new SigstoreSignature.Invalid("its certificate chain's key usage does not parse");
            }
            if (c == leaf ? usage == null || !usage.contains(CODE_SIGNING)
                    : usage != null && !usage.contains(CODE_SIGNING) && !usage.contains(ANY_USAGE)) {
                throw new SigstoreSignature.Invalid("its certificate chain is not for code signing");
            }
        }
        String issuer = issuer(leaf);
        if (!oidcIssuer.equals(issuer)) {
            throw new SigstoreSignature.Invalid("its certificate's OIDC issuer is \"" + issuer + "\", not \""
                    + oidcIssuer + "\"");
        }
        List<String> emails = new ArrayList<>();
        try {
            Collection<List<?>> names = leaf.getSubjectAlternativeNames();
            for (List<?> n : names == null ? List.<List<?>>of() : names) {
                if (Integer.valueOf(1).equals(n.get(0))) {
                    emails.add(String.valueOf(n.get(1)));
                }
            }
        } catch (CertificateException e) {
            throw new SigstoreSignature.Invalid("its certificate's subject alternative names do not parse");
        }
        if (!emails.contains(subjectEmail)) {
            throw new SigstoreSignature.Invalid("its certificate is for " + (emails.isEmpty() ? "no email"
                    : String.join(", ", emails)) + ", not " + subjectEmail);
        }
        return leaf.getPublicKey();
    }

    private static boolean validAt(X509Certificate c, Date when) {
        try {
            c.checkValidity(when);
            return true;
        } catch (CertificateException e) {
            return false;
        }
    }

    /** The OIDC issuer Fulcio recorded in {@code cert}. */
    private static String issuer(X509Certificate cert) throws SigstoreSignature.Invalid {
        Extensions exts;
        try {
            // Bouncy Castle's reader refuses an extension given twice, which the JDK's does not check
            exts = org.bouncycastle.asn1.x509.Certificate.getInstance(cert.getEncoded()).getTBSCertificate()
                    .getExtensions();
        } catch (RuntimeException | java.security.cert.CertificateEncodingException e) {
            throw new SigstoreSignature.Invalid("its certificate's extensions do not parse");
        }
        Extension v1 = exts == null ? null : exts.getExtension(ISSUER_V1);
        Extension v2 = exts == null ? null : exts.getExtension(ISSUER_V2);
        String s1 = null;
        if (v1 != null) {
            try {
                s1 = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(v1.getExtnValue().getOctets()))
                        .toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new SigstoreSignature.Invalid("its certificate's OIDC issuer extension is not UTF-8");
            }
        }
        String s2 = null;
        if (v2 != null) {
            try {
                s2 = ASN1UTF8String.getInstance(ASN1OctetString.getInstance(v2.getExtnValue()).getOctets())
                        .getString();
            } catch (RuntimeException e) {
                throw new SigstoreSignature.Invalid("its certificate's OIDC issuer extension is not a UTF-8 string");
            }
        }
        if (s1 == null && s2 == null) {
            throw new SigstoreSignature.Invalid("its certificate has no Fulcio OIDC issuer extension");
        }
        if (s1 != null && s2 != null && !s1.equals(s2)) {
            throw new SigstoreSignature.Invalid("its certificate names two OIDC issuers");
        }
        return s2 != null ? s2 : s1;
    }

    private static List<X509Certificate> parse(byte[] pem) throws SigstoreSignature.Invalid {
        String s = new String(pem, StandardCharsets.US_ASCII);
        if (!s.strip().startsWith("-----BEGIN CERTIFICATE-----")) {
            throw new SigstoreSignature.Invalid("its certificate annotation is not PEM certificates");
        }
        // counted before anything is parsed
        int blocks = s.split("-----BEGIN ", -1).length - 1;
        if (blocks > MAX_CERTIFICATES) {
            throw new SigstoreSignature.Invalid("it has over " + MAX_CERTIFICATES + " certificates");
        }
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (CertificateException | RuntimeException e) {
            throw new SigstoreSignature.Invalid("its certificates do not parse");
        }
    }
}
