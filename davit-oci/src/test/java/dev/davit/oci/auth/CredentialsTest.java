package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class CredentialsTest {
    private static final String SECRET = "s3cr3t-P4ssw0rd-xyzzy";

    @Test
    void basicHeaderValueIsBase64OfUserColonPassword() {
        Credentials c = Credentials.basic("alice", "pa:ss wörd");
        assertThat(c.type()).isEqualTo(Credentials.Type.BASIC);
        assertThat(c.basicHeaderValue()).startsWith("Basic ");
        String decoded = new String(Base64.getDecoder().decode(c.basicHeaderValue().substring(6)),
                StandardCharsets.UTF_8);
        assertThat(decoded).isEqualTo("alice:pa:ss wörd");
        assertThat(Credentials.basic("Aladdin", "open sesame").basicHeaderValue())
                .isEqualTo("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); // RFC 7617 example
    }

    @Test
    void toStringRedactsSecrets() {
        Credentials basic = Credentials.basic("alice", SECRET);
        Credentials token = Credentials.identityToken("bob", SECRET).withSource("somewhere");
        for (Credentials c : new Credentials[] {basic, token}) {
            assertThat(c.toString()).doesNotContain(SECRET).contains("<redacted>");
            assertThat(c.toString()).doesNotContain(Base64.getEncoder().encodeToString(
                    SECRET.getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(basic.toString()).contains("alice");
        assertThat(token.toString()).contains("bob").contains("somewhere").contains("identity_token");
        assertThat(Credentials.anonymous()).hasToString("Credentials[anonymous]");
    }

    @Test
    void identityTokenCannotBeSentAsBasic() {
        Credentials c = Credentials.identityToken(null, SECRET);
        assertThat(c.username()).isEmpty();
        assertThat(c.secret()).isEqualTo(SECRET);
        assertThatThrownBy(c::basicHeaderValue).isInstanceOf(DavitException.class)
                .hasMessageNotContaining(SECRET)
                .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.AUTH));
        assertThatThrownBy(() -> Credentials.anonymous().basicHeaderValue()).isInstanceOf(DavitException.class);
    }

    @Test
    void anonymous() {
        Credentials a = Credentials.anonymous();
        assertThat(a.isAnonymous()).isTrue();
        assertThat(a.username()).isEmpty();
        assertThat(a.secret()).isEmpty();
        assertThat(a.type()).isEqualTo(Credentials.Type.ANONYMOUS);
    }

    @Test
    void validation() {
        assertThatThrownBy(() -> Credentials.basic("a:b", SECRET)).isInstanceOf(DavitException.class)
                .hasMessageContaining("':'").hasMessageNotContaining(SECRET);
        assertThatThrownBy(() -> Credentials.basic("", SECRET)).isInstanceOf(DavitException.class)
                .hasMessageNotContaining(SECRET);
        assertThatThrownBy(() -> Credentials.basic(null, SECRET)).isInstanceOf(DavitException.class);
        assertThatThrownBy(() -> Credentials.basic("u", null)).isInstanceOf(DavitException.class);
        assertThatThrownBy(() -> Credentials.identityToken("u", "")).isInstanceOf(DavitException.class);
        assertThat(Credentials.basic("u", "").secret()).isEmpty();
    }

    @Test
    void equalityIgnoresSource() {
        assertThat(Credentials.basic("u", "p")).isEqualTo(Credentials.basic("u", "p").withSource("x"))
                .hasSameHashCodeAs(Credentials.basic("u", "p").withSource("y"))
                .isNotEqualTo(Credentials.basic("u", "q"))
                .isNotEqualTo(Credentials.identityToken("u", "p"));
        assertThat(Credentials.anonymous().withSource("none")).isEqualTo(Credentials.anonymous());
    }
}
