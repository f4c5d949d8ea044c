/**
 * JUnit 5 support for programs that use davit: {@link dev.davit.junit.DavitExtension} gives a test a
 * {@link dev.davit.Davit} on a temporary home ({@link dev.davit.junit.DavitTestHome}) whose image caches are shared
 * between tests, and removes it after the test. It passes on davit's API and JUnit's extension API.
 */
module dev.davit.junit {
    requires transitive dev.davit.sandbox;
    requires transitive org.junit.jupiter.api;

    exports dev.davit.junit;
}
